import type { Redis } from 'ioredis';
import type { AnyBulkWriteOperation, QueryFilter } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { EventDoc, EventGeo, Models, StatsBlockDoc, VisitDims, VisitDoc } from '../models/index.js';
import { sentByOf } from '../models/index.js';
import { dimsOf, visitStartOf } from './enrich.js';
import type { GeoLookup } from './geo.js';
import { localDay } from './site-days.js';
import { parseDays, rewriteBlock } from './stats-blocks.js';
import { rollUpVisits, SKETCH_TTL_S, sketchKey, withCloserLock } from './visit-closer.js';
import { dropVisitRecords } from './visit-records.js';
import { VISIT_IDLE_MS, visitIdOf } from './visit-state.js';

const DAY_MS = 86_400_000;
const WRITE_BATCH = 1_000;

export interface RebuildOptions {
  siteId?: string;
  /** Site-local days, inclusive; default: every day with events. */
  from?: string;
  to?: string;
  geo: GeoLookup | null;
  /** Called as events are read: done and total. */
  progress?: (done: number, total: number) => void;
  now?: number;
}

export interface RebuildResult {
  sites: number;
  events: number;
  visits: number;
}

interface OpenVisit {
  id: string;
  start: number;
  last: number;
  startDims: ReturnType<typeof visitStartOf>;
  visitor: string;
  day: string;
}

const checkDay = (s: string | undefined, what: string) => {
  if (s === undefined) return;
  const t = Date.parse(`${s}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(t))
    throw new TrackMateError('TM_ERR_USAGE', { message: `${what} must be a day such as 2026-12-01, got "${s}"` });
};

/**
 * `trackmate-collector rollups rebuild`: recomputes the enrichment of stored events (source, device, bot, place
 * where the stored address allows, visits) and the stats roll-ups of the days asked, from the events alone, in
 * event-time order. Idempotent (visit ids come from visitor and start; rows are recomputed, not added to), and
 * safe while ingest runs: events of the last 31 minutes belong to open visits the live path owns, and are left
 * alone. Events stored before enrichment existed get it; a place is kept when the address was anonymised.
 */
export async function rebuildRollups(
  models: Models,
  redis: Redis,
  prefix: string,
  options: RebuildOptions,
): Promise<RebuildResult> {
  checkDay(options.from, '--from');
  checkDay(options.to, '--to');
  const sites = await models.Site.find(options.siteId ? { _id: options.siteId } : {}, { timezone: 1 }).lean();
  if (options.siteId && !sites.length)
    throw new TrackMateError('TM_ERR_USAGE', { message: `no site ${options.siteId}` });
  const cutoff = new Date((options.now ?? Date.now()) - VISIT_IDLE_MS - 60_000);
  const out: RebuildResult = { sites: sites.length, events: 0, visits: 0 };
  const filters = sites.map((s): QueryFilter<EventDoc> => {
    const timestamp: { $lt: Date; $gte?: Date } = { $lt: cutoff };
    // a day in any time zone lies within 14 hours of the UTC day
    if (options.from) timestamp.$gte = new Date(Date.parse(`${options.from}T00:00:00Z`) - 14 * 3_600_000);
    if (options.to) {
      const end = new Date(Date.parse(`${options.to}T00:00:00Z`) + DAY_MS + 14 * 3_600_000);
      if (end < cutoff) timestamp.$lt = end;
    }
    return { siteId: s._id, timestamp };
  });
  const total = (await Promise.all(filters.map((f) => models.Event.countDocuments(f)))).reduce((a, b) => a + b, 0);
  let done = 0;
  for (const [i, site] of sites.entries()) {
    const tz = site.timezone ?? 'UTC';
    // today's rows also hold open visits: today is left to the live path
    const lastDay = localDay(cutoff.getTime(), tz);
    const inRange = (day: string) =>
      (!options.from || day >= options.from) && (!options.to || day <= options.to) && day < lastDay;
    const open = new Map<string, OpenVisit>();
    const browserOf = new Map<string, string>(); // profile → the browser it was last seen on
    const visits = new Map<string, VisitDoc>();
    let writes: AnyBulkWriteOperation<EventDoc>[] = [];
    const flush = async () => {
      if (writes.length) await models.Event.bulkWrite(writes, { ordered: false });
      writes = [];
    };
    const cursor = models.Event.find(filters[i]!).sort({ timestamp: 1 }).lean().cursor({ batchSize: 1000 });
    for await (const e of cursor) {
      done++;
      if (done % 500 === 0) options.progress?.(done, total);
      const ts = e.timestamp.getTime();
      const client = sentByOf(e) === 'client';
      const geo: EventGeo | null =
        (e.geo as EventGeo | null | undefined) ?? (options.geo && e.ip ? options.geo.lookup(e.ip) : null);
      const start = client ? visitStartOf(e, geo) : null;
      let visitor = e.anonymousId;
      if (client && visitor && e.profileId) browserOf.set(e.profileId.toString(), visitor);
      if (!visitor && !client && e.profileId) visitor = browserOf.get(e.profileId.toString()) ?? null;
      let visit = visitor ? open.get(visitor) : undefined;
      if (visit && ts - visit.last > VISIT_IDLE_MS) visit = undefined;
      if (!visit && visitor && start) {
        visit = {
          id: visitIdOf(site._id.toHexString(), visitor, ts),
          start: ts,
          last: ts,
          startDims: start,
          visitor,
          day: localDay(ts, tz),
        };
        open.set(visitor, visit);
      }
      const set: Partial<EventDoc> = visit
        ? {
            source: visit.startDims.source,
            device: start ? start.device : visit.startDims.device,
            geo: start ? start.geo : visit.startDims.geo,
            bot: start ? start.bot : visit.startDims.bot,
            visitId: visit.id,
          }
        : {
            source: null,
            device: start?.device ?? null,
            geo: start?.geo ?? null,
            bot: start?.bot ?? false,
            visitId: null,
          };
      if (!e.sentBy) set.sentBy = sentByOf(e);
      if (visit) {
        visit.last = Math.max(visit.last, ts);
        if (inRange(visit.day)) {
          const v = visits.get(visit.id);
          if (v) v.end = new Date(visit.last);
          else
            visits.set(visit.id, {
              _id: visit.id,
              siteId: site._id,
              visitor: visit.visitor,
              day: visit.day,
              start: new Date(visit.start),
              end: new Date(visit.last),
              touchedAt: new Date(),
              dims: dimsOf(visit.startDims) as VisitDims,
              closed: false,
            });
        }
      }
      if (visit ? inRange(visit.day) : inRange(localDay(ts, tz))) {
        writes.push({ updateOne: { filter: { _id: e._id }, update: { $set: set } } });
        out.events++;
      }
      if (writes.length >= WRITE_BATCH) await flush();
      // forget visits that can take no more events
      if (open.size > 10_000) for (const [k, v] of open) if (ts - v.last > VISIT_IDLE_MS) open.delete(k);
    }
    await flush();
    // the days' roll-ups are recomputed from the rebuilt visits, not added to
    const siteId = site._id.toHexString();
    const dayFilter: { $gte?: string; $lte?: string; $lt: string } = { $lt: lastDay };
    if (options.from) dayFilter.$gte = options.from;
    if (options.to) dayFilter.$lte = options.to;
    await models.Visit.deleteMany({ siteId: site._id, closed: true, day: dayFilter });
    const rebuilt = [...visits.values()];
    // blocks are written by one process at a time: the live closer waits while this site's are redone
    await withCloserLock(redis, prefix, async (extend) => {
      const remerge = new Map<string, { dim: string; value: string; month: string }>();
      for (const block of await models.StatsBlock.find({ siteId }).lean<StatsBlockDoc[]>()) {
        const gone = [...parseDays(block.days)].filter(([day]) => inRange(day));
        if (!gone.length) continue;
        if (block.dim !== 'bots') {
          const keys = gone.flatMap(([day, values]) =>
            [...values.keys()].map((v) => sketchKey(prefix, siteId, day, block.dim, v)),
          );
          // the month's sketch of each of those values is made again from its days' once they are rebuilt
          for (const [, values] of gone)
            for (const v of values.keys())
              remerge.set(sketchKey(prefix, siteId, block.month, block.dim, v), {
                dim: block.dim,
                value: v,
                month: block.month,
              });
          keys.push(...remerge.keys());
          for (let k = 0; k < keys.length; k += 500) await redis.unlink(...keys.slice(k, k + 500));
        }
        await rewriteBlock(
          models,
          redis,
          prefix,
          block,
          (day) => !inRange(day),
          (id) => visits.has(id),
        );
      }
      // the days' records are made again with their visits (a visit rebuilt differently must not stay)
      await dropVisitRecords(redis, prefix, siteId, inRange, false);
      for (let k = 0; k < rebuilt.length; k += 500) {
        const batch = rebuilt.slice(k, k + 500);
        await models.Visit.bulkWrite(
          batch.map((v) => ({ replaceOne: { filter: { _id: v._id }, replacement: v, upsert: true } })),
          { ordered: false },
        );
        await rollUpVisits(models, redis, prefix, batch);
        await extend();
      }
      const p = redis.pipeline();
      for (const [key, r] of remerge) {
        const [y, m] = r.month.split('-').map(Number) as [number, number];
        const days = Array.from({ length: new Date(Date.UTC(y, m, 0)).getUTCDate() }, (_, d) =>
          sketchKey(prefix, siteId, `${r.month}-${String(d + 1).padStart(2, '0')}`, r.dim, r.value),
        );
        p.pfmerge(key, ...days);
        p.expire(key, SKETCH_TTL_S);
      }
      const results = (await p.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      // a query meanwhile may have filled a day's records from the half-rebuilt visits: it is read again
      await dropVisitRecords(redis, prefix, siteId, inRange, true);
    });
    out.visits += rebuilt.length;
  }
  options.progress?.(total, total);
  return out;
}

/** A progress bar on a terminal, one line a second elsewhere. */
export function progressBar(write: (s: string) => void, tty: boolean) {
  let last = 0;
  return (done: number, total: number) => {
    const now = Date.now();
    if (!tty && now - last < 1_000 && done < total) return;
    last = now;
    const share = total ? done / total : 1;
    const width = 30;
    const bar = `${'#'.repeat(Math.round(share * width))}${' '.repeat(width - Math.round(share * width))}`;
    const line = `[${bar}] ${Math.round(share * 100)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} events`;
    write(tty ? `\r${line}${done >= total ? '\n' : ''}` : `${line}\n`);
  };
}
