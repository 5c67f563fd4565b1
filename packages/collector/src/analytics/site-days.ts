import type { Models } from '../models/index.js';

const formats = new Map<string, Intl.DateTimeFormat>();

/** The day (YYYY-MM-DD) of an instant in an IANA time zone. */
export function localDay(ms: number, timeZone: string): string {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formats.set(timeZone, f);
  }
  return f.format(ms);
}

/** The instant (ms) a site-local day (YYYY-MM-DD) starts in an IANA time zone. */
export function dayStartMs(day: string, timeZone: string): number {
  const utc = Date.parse(`${day}T00:00:00Z`);
  // the zone's offset near that instant, corrected once more across a change of offset
  let t = utc;
  for (let i = 0; i < 3; i++) {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(t);
    const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
    const next = utc - (asUtc - t);
    if (next === t) break;
    t = next;
  }
  return t;
}

/** Each site's time zone, read at most once a minute per process. */
export function siteTimeZones(models: Models, ttlMs = 60_000) {
  const cache = new Map<string, { tz: string; until: number }>();
  return async (siteIds: string[]): Promise<Map<string, string>> => {
    const now = Date.now();
    const missing = [...new Set(siteIds)].filter((id) => (cache.get(id)?.until ?? 0) < now);
    if (missing.length) {
      const found = await models.Site.find({ _id: { $in: missing } }, { timezone: 1 }).lean();
      const zones = new Map(found.map((s) => [s._id.toHexString(), s.timezone ?? 'UTC']));
      for (const id of missing) cache.set(id, { tz: zones.get(id) ?? 'UTC', until: now + ttlMs });
    }
    return new Map(siteIds.map((id) => [id, cache.get(id)?.tz ?? 'UTC']));
  };
}
