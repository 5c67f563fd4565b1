import { randomUUID } from 'node:crypto';
import type { FunnelBreakdown } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import { medianOfCounts, weekOf } from './funnel-state.js';

/** The counts of several hashes added up, in Redis (one reply of a few hundred values, not one per day). */
const MERGE = `
local sums = {}
for _, key in ipairs(KEYS) do
  local h = redis.call('HGETALL', key)
  for i = 1, #h, 2 do sums[h[i]] = (sums[h[i]] or 0) + tonumber(h[i + 1]) end
end
local out = {}
for v, n in pairs(sums) do
  out[#out + 1] = v
  out[#out + 1] = n
end
return out`;

/** A range's days as the whole weeks inside it (their Mondays) and the days left over. */
export function weeksAndDays(days: string[]): { weeks: string[]; days: string[] } {
  const byWeek = new Map<string, string[]>();
  for (const d of days) byWeek.set(weekOf(d), [...(byWeek.get(weekOf(d)) ?? []), d]);
  const weeks: string[] = [];
  const rest: string[] = [];
  for (const [week, list] of byWeek) {
    if (list.length === 7) weeks.push(week);
    else rest.push(...list);
  }
  return { weeks, days: rest };
}

import type { FunnelFigures } from './funnel-tally.js';

/** How long a week's OR-ed bitmap is kept once made (made again from the days when asked after that). */
const WEEK_BITMAP_TTL_S = 30 * 86_400;
const DAY_MS = 86_400_000;
const weekDays = (monday: string) =>
  Array.from({ length: 7 }, (_, i) =>
    new Date(Date.parse(`${monday}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10),
  );

/**
 * Each bitmap a range's people are counted from, as keys: a whole week's days OR-ed once and kept
 * (`bw:<monday>:<suffix>`, with the week's version `wv:` it was made at; made again when a day of the week
 * changed since), then the days left over. Redis ORs a few large bitmaps much faster than many: 90 days are 12
 * weeks and 6 days.
 */
async function rangeBitmaps(redis: Redis, base: string, suffixes: string[], days: string[]) {
  const { weeks, days: rest } = weeksAndDays(days);
  const byWeek = (w: string, suffix: string) => `${base}:bw:${w}:${suffix}`;
  if (weeks.length) {
    const read = await redis.mget(
      ...weeks.map((w) => `${base}:wv:${w}`),
      ...suffixes.flatMap((sfx) => weeks.map((w) => `${byWeek(w, sfx)}:v`)),
    );
    const versions = read.slice(0, weeks.length);
    const madeAt = read.slice(weeks.length);
    const pipeline = redis.pipeline();
    let stale = 0;
    suffixes.forEach((sfx, i) => {
      weeks.forEach((w, j) => {
        const version = versions[j] ?? '0';
        if (madeAt[i * weeks.length + j] === version) return;
        // the version read before the OR: a change after it makes this copy stale on the next query
        pipeline.bitop('OR', byWeek(w, sfx), ...weekDays(w).map((d) => `${base}:b:${d}:${sfx}`));
        pipeline.expire(byWeek(w, sfx), WEEK_BITMAP_TTL_S);
        pipeline.set(`${byWeek(w, sfx)}:v`, version, 'EX', WEEK_BITMAP_TTL_S);
        stale++;
      });
    });
    if (stale) for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }
  return (suffix: string) => [...weeks.map((w) => byWeek(w, suffix)), ...rest.map((d) => `${base}:b:${d}:${suffix}`)];
}

/**
 * A saved funnel's figures over some site-local days, from its Redis state alone: per step the range's bitmaps
 * OR-ed and counted (a person once, whatever the days), the medians from the days' counts of seconds, the
 * breakdown from the bitmaps of each value. A few round trips whatever the traffic.
 */
export async function savedFigures(
  redis: Redis,
  base: string,
  steps: number,
  days: string[],
  breakdown?: FunnelBreakdown,
): Promise<FunnelFigures> {
  const tmp = `${base}:tmp:${randomUUID()}`;
  const values = breakdown ? await redis.smembers(`${base}:values:${breakdown}`) : [];
  const sets: Array<{ value?: string; k: number; suffix: string }> = [];
  for (let k = 0; k < steps; k++) {
    sets.push({ k, suffix: `${k}` });
    for (const value of values) sets.push({ value, k, suffix: `${k}:${breakdown}:${value}` });
  }
  const keysOf = await rangeBitmaps(
    redis,
    base,
    sets.map((s) => s.suffix),
    days,
  );
  const pipeline = redis.pipeline();
  sets.forEach((s, i) => {
    pipeline.bitop('OR', `${tmp}:${i}`, ...keysOf(s.suffix));
    pipeline.bitcount(`${tmp}:${i}`);
    pipeline.unlink(`${tmp}:${i}`);
  });
  const parts = weeksAndDays(days);
  const merged = (day: (d: string) => string, week: (w: string) => string) => {
    const keys = [...parts.days.map(day), ...parts.weeks.map(week)];
    pipeline.eval(MERGE, keys.length, ...keys);
  };
  for (let k = 0; k < steps - 1; k++)
    merged(
      (d) => `${base}:h:${d}:${k}`,
      (w) => `${base}:hw:${w}:${k}`,
    );
  merged(
    (d) => `${base}:c:${d}`,
    (w) => `${base}:cw:${w}`,
  );
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
  const counts = new Array<number>(steps).fill(0);
  const rows = breakdown ? new Map<string, number[]>() : undefined;
  sets.forEach((s, i) => {
    const n = Number(results[i * 3 + 1]![1]);
    if (s.value === undefined) counts[s.k] = n;
    else {
      const row = rows!.get(s.value) ?? new Array<number>(steps).fill(0);
      row[s.k] = n;
      rows!.set(s.value, row);
    }
  });
  let at = sets.length * 3;
  const merge = () => {
    const flat = (results[at++]![1] ?? []) as Array<string | number>;
    const m = new Map<number, number>();
    for (let i = 0; i < flat.length; i += 2) m.set(Number(flat[i]), Number(flat[i + 1]));
    return m;
  };
  const medians: Array<number | null> = [null];
  for (let k = 0; k < steps - 1; k++) medians.push(medianOfCounts(merge()));
  const medianToConvert = medianOfCounts(merge());
  for (const [v, row] of rows ?? []) if (!row[0]) rows!.delete(v);
  return { counts, medians, medianToConvert, rows };
}
