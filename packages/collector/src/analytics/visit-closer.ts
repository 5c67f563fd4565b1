import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import type { Models, VisitDoc } from '../models/index.js';
import { lockKeys, RELEASE_LOCK, withRedisLock } from '../plugins/redis.js';
import { dimsOf } from './enrich.js';
import { dayStartMs, localDay, siteTimeZones } from './site-days.js';
import { addToBlocks, confirmBlocks } from './stats-blocks.js';
import { eventsOfVisits } from './visit-events.js';
import { makeColumns, writeVisitRecords } from './visit-records.js';
import { forgetOpenVisits, type OpenVisitMeta, openVisitKeys, openVisitMeta, VISIT_IDLE_MS } from './visit-state.js';
import { type Counts, rowsOfVisit, summarizeRecords } from './visit-summary.js';

/** Redis key of the distinct-visitor sketch of one roll-up row (HyperLogLog). */
export const sketchKey = (prefix: string, siteId: string, day: string, dim: string, value: string) =>
  `${prefix}:uv:${siteId}:${day}:${dim}:${value}`;

/** Sketches are kept 400 days after their last write, so a year compares with the one before. */
export const SKETCH_TTL_S = 400 * 86_400;

/**
 * Adds a roll-up row's visitors to its day's sketch and to its month's (`sketchKey` with the month, YYYY-MM, for
 * the day), so a range counts a whole month with one sketch instead of its days'.
 */
export function addToSketches(
  pipeline: ReturnType<Redis['pipeline']>,
  prefix: string,
  row: { siteId: string; day: string; dim: string; value: string },
  visitors: string[],
): void {
  for (const when of [row.day, row.day.slice(0, 7)]) {
    const key = sketchKey(prefix, row.siteId, when, row.dim, row.value);
    for (let i = 0; i < visitors.length; i += 5_000) pipeline.pfadd(key, ...visitors.slice(i, i + 5_000));
    pipeline.expire(key, SKETCH_TTL_S);
  }
}
const LOCK_MS = 60_000;

interface Bucket {
  siteId: string;
  day: string;
  dim: string;
  value: string;
  byVisit: Map<string, Counts>;
  visitors: Set<string>;
}

/**
 * Rolls up visits nothing can join any more (30 minutes and a minute after their last event was processed, when
 * their visitor's current-visit key in Redis has expired): each visit is summarised from its stored events,
 * written to `visits` with its summary (and to its day's records for filtered queries, visit-records.ts), and its figures added to the stats blocks (stats-blocks.ts: per site,
 * dimension and site-local month, by day and value), with its visitor in the (day, dimension, value) sketch;
 * then Redis forgets it. Exactly once without transactions, as the roll-up folder does: each block adds the
 * visits not yet in its `jobs` and lists them; then the visits are written (closed); then they leave `jobs`; a
 * visit already in `visits` is only forgotten. Run by one process at a time (a Redis lock): it reads rows before it writes them.
 */
export async function closeVisits(
  models: Models,
  redis: Redis,
  prefix: string,
  options: {
    now?: number;
    closeAfterMs?: number;
    limit?: number;
    /** told the site-local days the closed visits were recorded in */
    onRecorded?: (days: RecordedDay[]) => void;
  } = {},
): Promise<number> {
  const now = options.now ?? Date.now();
  const closeAfter = options.closeAfterMs ?? VISIT_IDLE_MS + 60_000;
  const ids = await redis.zrangebyscore(
    openVisitKeys(prefix).all,
    '-inf',
    now - closeAfter,
    'LIMIT',
    0,
    options.limit ?? 500,
  );
  if (!ids.length) return 0;
  const metas = await openVisitMeta(redis, prefix, ids);
  const done = new Set(
    (await models.Visit.find({ _id: { $in: metas.map((m) => m.id) } }, { _id: 1 }).lean()).map((v) => v._id),
  );
  const todo = metas.filter((m) => !done.has(m.id)).map(visitDocOf);
  if (todo.length) {
    const days = await rollUpVisits(models, redis, prefix, todo);
    options.onRecorded?.(days);
  }
  const gone = ids.filter((id) => !metas.some((m) => m.id === id)); // metadata lost: nothing to roll up
  await forgetOpenVisits(redis, prefix, [
    ...metas.map((m) => ({ id: m.id, siteId: m.siteId })),
    ...gone.map((id) => ({ id, siteId: id.split(':')[0]! })),
  ]);
  return ids.length;
}

/** Dimensions by their JSON and sites' ids by their hex, memoised: a live query turns every open visit into a document. */
const dimsByJson = new Map<string, VisitDoc['dims']>();
const siteIds = new Map<string, Types.ObjectId>();

/** An open visit (Redis) as a visits document, not yet summarised. */
export function visitDocOf(m: OpenVisitMeta): VisitDoc {
  let dims = dimsByJson.get(m.dims);
  if (!dims) {
    dims = dimsOf(JSON.parse(m.dims) as Parameters<typeof dimsOf>[0]);
    if (dimsByJson.size >= 20_000) dimsByJson.clear();
    dimsByJson.set(m.dims, dims);
  }
  let siteId = siteIds.get(m.siteId);
  if (!siteId) {
    siteId = new Types.ObjectId(m.siteId);
    if (siteIds.size >= 10_000) siteIds.clear();
    siteIds.set(m.siteId, siteId);
  }
  const start = new Date(m.start);
  return {
    _id: m.id,
    siteId,
    visitor: m.visitor,
    day: start.toISOString().slice(0, 10),
    start,
    end: new Date(m.last),
    touchedAt: new Date(m.touched),
    dims: { ...dims },
    closed: false,
  };
}

/** A site-local day a closed visit was recorded in (visit-records.ts), with the site's time zone. */
export interface RecordedDay {
  siteId: string;
  day: string;
  timezone: string;
}

/** Summarises visits from their events and adds them to the roll-ups (see closeVisits); the days they fell in. */
export async function rollUpVisits(
  models: Models,
  redis: Redis,
  prefix: string,
  visits: VisitDoc[],
): Promise<RecordedDay[]> {
  const events = await eventsOfVisits(
    models,
    redis,
    prefix,
    visits.map((v) => v._id),
  );
  const zones = await siteTimeZones(models, 0)(visits.map((v) => v.siteId.toString()));
  const buckets = new Map<string, Bucket>();
  const closed: Array<{ id: string; day: string; summary: ReturnType<typeof summarizeRecords> }> = [];
  for (const v of visits) {
    const list = events.get(v._id) ?? [];
    const summary = summarizeRecords(list);
    const siteId = v.siteId.toString();
    const first = list.reduce((m, e) => Math.min(m, e[0]), Number.POSITIVE_INFINITY);
    const day = list.length ? localDay(first, zones.get(siteId) ?? 'UTC') : v.day;
    closed.push({ id: v._id, day, summary });
    if (!list.length) continue; // its events were never stored (dead-lettered): nothing to count
    for (const row of rowsOfVisit(v.dims, summary)) {
      const id = `${siteId}:${day}:${row.dim}:${row.value}`;
      let b = buckets.get(id);
      if (!b) {
        b = { siteId, day, dim: row.dim, value: row.value, byVisit: new Map(), visitors: new Set() };
        buckets.set(id, b);
      }
      b.byVisit.set(v._id, row.counts);
      if (row.counts.visits && row.dim !== 'bots') b.visitors.add(v.visitor);
    }
  }
  let blocks: string[] = [];
  if (buckets.size) {
    const pipeline = redis.pipeline();
    for (const b of buckets.values()) {
      if (b.dim === 'bots' || !b.visitors.size) continue;
      addToSketches(pipeline, prefix, b, [...b.visitors]);
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];

    blocks = await addToBlocks(
      models,
      redis,
      prefix,
      [...buckets.values()].map((b) => ({
        siteId: b.siteId,
        day: b.day,
        dim: b.dim,
        value: b.value,
        byVisit: b.byVisit,
      })),
    );
  }
  const byId = new Map(visits.map((v) => [v._id, v]));
  // before the visits are stored: a filtered query that fills a day's records from `visits` meanwhile misses
  // none of them (visit-records.ts)
  await writeVisitRecords(
    redis,
    prefix,
    closed.map((c) => {
      const v = byId.get(c.id)!;
      return {
        id: c.id,
        siteId: v.siteId.toString(),
        day: c.day,
        visitor: v.visitor,
        dims: v.dims,
        summary: c.summary,
      };
    }),
  );
  await models.Visit.bulkWrite(
    closed.map((c) => ({
      replaceOne: {
        filter: { _id: c.id },
        replacement: { ...byId.get(c.id)!, closed: true, day: c.day, summary: c.summary },
        upsert: true,
      },
    })),
    { ordered: false },
  );
  await confirmBlocks(
    models,
    blocks,
    visits.map((v) => v._id),
  );
  const days = new Map<string, RecordedDay>();
  for (const c of closed) {
    const v = byId.get(c.id)!;
    if (v.dims.bot) continue;
    const siteId = v.siteId.toString();
    days.set(`${siteId}:${c.day}`, { siteId, day: c.day, timezone: zones.get(siteId) ?? 'UTC' });
  }
  return [...days.values()];
}

/**
 * Makes the columns (visit-records.ts) of each recorded day that is over: no visit that began in it is open (it
 * ended longer ago than a visit's idle time and the closer's margin). A filtered query then finds every closed
 * day's columns made, where it made them itself (the first filtered 90-day query after a restart took a minute).
 * A visit of such a day closed later adds the day again, and its columns are made again. Days made are taken out
 * of `recorded`; a day that fails stays for the next round.
 */
export async function makeOverDays(
  redis: Redis,
  prefix: string,
  recorded: Map<string, RecordedDay>,
  now: number,
  closeAfterMs = VISIT_IDLE_MS + 60_000,
  extend: () => Promise<unknown> = async () => {},
): Promise<number> {
  const bySite = new Map<string, string[]>();
  for (const [key, d] of recorded) {
    const next = new Date(Date.parse(`${d.day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    if (dayStartMs(next, d.timezone) + closeAfterMs > now) continue;
    bySite.set(d.siteId, [...(bySite.get(d.siteId) ?? []), key]);
  }
  let made = 0;
  for (const [siteId, keys] of bySite) {
    await makeColumns(
      redis,
      prefix,
      siteId,
      keys.map((k) => recorded.get(k)!.day),
    );
    for (const k of keys) recorded.delete(k);
    made += keys.length;
    await extend();
  }
  return made;
}

/** The lock that keeps stats blocks to one writer at a time (closer, rollups rebuild, site deletion). */
const closerLockKey = lockKeys.closer;

/**
 * Runs `fn` holding the closer's lock, waiting for it while another process holds it; `fn` calls `extend`
 * between steps so a long run keeps it.
 */
export function withCloserLock<T>(
  redis: Redis,
  prefix: string,
  fn: (extend: () => Promise<void>) => Promise<T>,
): Promise<T> {
  return withRedisLock(redis, closerLockKey(prefix), LOCK_MS, fn);
}

export interface VisitCloser {
  stop(): Promise<void>;
}

/** Closes visits every `intervalMs`, one process at a time across the installation (a Redis lock). */
export function startVisitCloser(
  config: Config,
  models: Models,
  redis: Redis,
  log: { warn(o: object, m: string): void },
  intervalMs = 15_000,
): VisitCloser {
  const lockKey = closerLockKey(config.queuePrefix);
  const token = randomUUID();
  let running: Promise<void> | null = null;
  let stopped = false;
  // the days this process recorded visits in whose columns are still to make (makeOverDays)
  const recorded = new Map<string, RecordedDay>();
  const onRecorded = (days: RecordedDay[]) => {
    for (const d of days) recorded.set(`${d.siteId}:${d.day}`, d);
  };
  const run = async () => {
    if (!(await redis.set(lockKey, token, 'PX', LOCK_MS, 'NX'))) return;
    try {
      while (!stopped && (await closeVisits(models, redis, config.queuePrefix, { onRecorded })) > 0) {
        await redis.pexpire(lockKey, LOCK_MS);
      }
      if (!stopped)
        await makeOverDays(redis, config.queuePrefix, recorded, Date.now(), undefined, () =>
          redis.pexpire(lockKey, LOCK_MS),
        );
    } finally {
      await redis.eval(RELEASE_LOCK, 1, lockKey, token);
    }
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = run()
      .catch((err) => log.warn({ err: loggable(err) }, 'closing visits failed; retrying'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
