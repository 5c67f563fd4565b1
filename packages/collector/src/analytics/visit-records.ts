import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import type { Models, VisitDims, VisitSummary } from '../models/index.js';
import { dayStartMs } from './site-days.js';
import { buildColumns, type DayColumns, readColumns } from './visit-columns.js';
import { VISIT_DIMS } from './visit-summary.js';

/**
 * Closed visits kept in Redis for filtered stats, one hash per site and site-local day
 * (`<prefix>:vr:<siteId>:<day>`, field: the visit's id without the site, value: its record, below), written by
 * the visit closer beside the roll-ups. A filtered query (`page==/pricing`, `channel!=Direct`, two dimensions at
 * once: anything the roll-ups do not hold) reads its days' visits as columns made from these records
 * (visit-columns.ts) and filters them in memory, where it decoded the range's `visits` documents (a scan of the collection on FerretDB: a minute for 7 days of a site with
 * 5 million events a quarter). Records are complete for the days that began after the first record was written
 * (`<prefix>:vr-since`, set once, in ms; lost with Redis, so set again): every visit of such a day closed since.
 * An earlier day is complete once its hash holds `~all`: filled from `visits` by the first query that needs it
 * (one read for all such days of its range); the closer's records come on top (a field per visit: written
 * twice, kept once). A day's key that expired or was lost is read again from `visits`. Bots are left out, as
 * every figure leaves them out.
 */

/** Records and columns are kept this long after a day's last write or read; then the day is read from `visits` again. */
export const RECORDS_TTL_S = 100 * 86_400;
const COMPLETE = '~all';
/** Days whose records a query turns into columns per Redis round trip. */
const DAYS_A_READ = 8;
/** Field of a day's records naming its columns: `<records>:<random>`, written after the columns. */
const TAG = '~v';

export const recordsKey = (prefix: string, siteId: string, day: string) => `${prefix}:vr:${siteId}:${day}`;
export const recordsSinceKey = (prefix: string) => `${prefix}:vr-since`;
export const columnsKey = (prefix: string, siteId: string, day: string) => `${prefix}:vc:${siteId}:${day}`;

/** A visit as the filtered queries see it. */
export interface RecordedVisit {
  day: string;
  visitor: string;
  dims: VisitDims;
  summary: VisitSummary;
}

/**
 * The record: [visitor, the visit dimensions in VISIT_DIMS order (0 for none), client, page views, events,
 * bounce, duration, entry page, exit page (0 for none), orders, revenue, revenue by currency (0 for none),
 * pages as page, views, …, event names as name, count, orders, …].
 */
type RecordArray = [string, ...unknown[]];

export function encodeVisit(v: Pick<RecordedVisit, 'visitor' | 'dims' | 'summary'>): string {
  const s = v.summary;
  const dims = v.dims as unknown as { [k: string]: string | null };
  const cur = Object.keys(s.revenueByCurrency).length ? s.revenueByCurrency : 0;
  const rec: unknown[] = [v.visitor];
  for (const d of VISIT_DIMS) rec.push(dims[d] ?? 0);
  rec.push(s.client ? 1 : 0, s.pageviews, s.events, s.bounce, s.duration, s.entryPage ?? 0, s.exitPage ?? 0);
  rec.push(
    s.orders,
    s.revenue,
    cur,
    s.pages.flatMap((p) => [p.page, p.views]),
  );
  rec.push(s.names.flatMap((n) => [n.name, n.count, n.orders]));
  return JSON.stringify(rec);
}

export function decodeVisit(text: string, day: string): RecordedVisit {
  const r = JSON.parse(text) as RecordArray;
  const dims: { [k: string]: string | null | boolean } = { bot: false };
  let i = 1;
  for (const d of VISIT_DIMS) {
    const x = r[i++] as string | 0;
    dims[d] = x === 0 ? null : x;
  }
  const [client, pageviews, events, bounce, duration, entry, exit, orders, revenue, cur, pages, names] = r.slice(i) as [
    number,
    number,
    number,
    0 | 1,
    number,
    string | 0,
    string | 0,
    number,
    number,
    object | 0,
    unknown[],
    unknown[],
  ];
  const summary: VisitSummary = {
    client: client === 1,
    pageviews,
    events,
    bounce,
    duration,
    entryPage: entry === 0 ? null : entry,
    exitPage: exit === 0 ? null : exit,
    orders,
    revenue,
    revenueByCurrency: cur === 0 ? {} : (cur as { [code: string]: number }),
    pages: [],
    names: [],
  };
  for (let k = 0; k < pages.length; k += 2)
    summary.pages.push({ page: pages[k] as string, views: pages[k + 1] as number });
  for (let k = 0; k < names.length; k += 3)
    summary.names.push({ name: names[k] as string, count: names[k + 1] as number, orders: names[k + 2] as number });
  return { day, visitor: r[0], dims: dims as unknown as VisitDims, summary };
}

/** The field of a visit in its day's hash: its id without the site's, which the key names. */
const fieldOf = (siteId: string, visitId: string) =>
  visitId.startsWith(`${siteId}:`) ? visitId.slice(siteId.length + 1) : visitId;

/** A closed visit, as the closer has it. */
export interface ClosedVisit extends RecordedVisit {
  id: string;
  siteId: string;
}

/** Adds closed visits to their days' records (bots left out); writing a visit again replaces it with itself. */
export async function writeVisitRecords(redis: Redis, prefix: string, visits: ClosedVisit[]): Promise<void> {
  const byKey = new Map<string, string[]>();
  for (const v of visits) {
    if (v.dims.bot) continue;
    const key = recordsKey(prefix, v.siteId, v.day);
    const fields = byKey.get(key) ?? [];
    fields.push(fieldOf(v.siteId, v.id), encodeVisit(v));
    byKey.set(key, fields);
  }
  if (!byKey.size) return;
  const p = redis.pipeline();
  p.set(recordsSinceKey(prefix), Date.now(), 'NX');
  for (const [key, fields] of byKey) {
    for (let i = 0; i < fields.length; i += 1_000) p.hset(key, ...fields.slice(i, i + 1_000));
    p.expire(key, RECORDS_TTL_S);
  }
  const results = (await p.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
}

/**
 * The closed visits of a site's days (bots left out) as columns (visit-columns.ts): each day's columns are kept
 * in Redis (`<prefix>:vc:<siteId>:<day>`) and made again from the day's records when their number changed (a
 * visit closed since). Days whose records are not complete are read from `visits` first (one query for all of
 * them) and recorded, so the next query finds them.
 */
export async function readVisitDays(
  models: Models,
  redis: Redis,
  prefix: string,
  site: Types.ObjectId,
  timezone: string,
  days: string[],
): Promise<DayColumns[]> {
  const siteId = site.toHexString();
  if (!days.length) return [];
  const p = redis.pipeline();
  p.get(recordsSinceKey(prefix));
  for (const day of days) {
    const key = recordsKey(prefix, siteId, day);
    p.hlen(key).hexists(key, COMPLETE).hget(key, TAG);
  }
  // days in use stay: their time runs from their last read too
  for (const day of days)
    p.expire(recordsKey(prefix, siteId, day), RECORDS_TTL_S).expire(columnsKey(prefix, siteId, day), RECORDS_TTL_S);
  const results = (await p.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  const since = results[0]![1] == null ? Number.POSITIVE_INFINITY : Number(results[0]![1]);
  const out = new Map<string, DayColumns>();
  const missing: string[] = [];
  const stale: string[] = [];
  const fetch: Array<{ day: string; tag: string }> = [];
  days.forEach((day, i) => {
    const [len, marked, tag] = results.slice(1 + 3 * i, 4 + 3 * i).map(([, x]) => x) as [number, number, string | null];
    // an expired or lost day has no key: read again even after `vr-since`
    if (!len || (!marked && dayStartMs(day, timezone) < since)) missing.push(day);
    else if (tag && Number(tag.split(':')[0]) === len - marked - 1) {
      // columns of every record: this process's copy if it has them, else Redis'
      const held = kept.get(columnsKey(prefix, siteId, day));
      if (held?.version === tag) out.set(day, held);
      else fetch.push({ day, tag });
    } else stale.push(day);
  });
  if (fetch.length) {
    const read = redis.pipeline();
    for (const f of fetch) read.getBuffer(columnsKey(prefix, siteId, f.day));
    const bufs = (await read.exec()) ?? [];
    fetch.forEach((f, i) => {
      const [err, buf] = bufs[i]!;
      if (err) throw err;
      const cols = buf ? readColumns(buf as Buffer, f.day) : null;
      if (cols?.version === f.tag) {
        out.set(f.day, cols);
        keep(columnsKey(prefix, siteId, f.day), cols);
      } else stale.push(f.day);
    });
  }
  if (missing.length) await fillFromVisits(models, redis, prefix, site, missing);
  await makeColumns(redis, prefix, siteId, [...stale, ...missing], (day, cols) => {
    out.set(day, cols);
    keep(columnsKey(prefix, siteId, day), cols);
  });
  return days.map((day) => out.get(day)!);
}

/**
 * Makes the days' columns from their records and stores them in Redis (the columns, then their tag), a few days a
 * round trip: a query, for the days whose columns are missing or older than their records, and the visit closer,
 * for each day it recorded visits of once the day is over (so a query finds them made).
 */
export async function makeColumns(
  redis: Redis,
  prefix: string,
  siteId: string,
  days: string[],
  each?: (day: string, cols: DayColumns) => void,
): Promise<void> {
  // a few days at a time: a day of a busy site is megabytes of records
  for (let c = 0; c < days.length; c += DAYS_A_READ) {
    const chunk = days.slice(c, c + DAYS_A_READ);
    const read = redis.pipeline();
    for (const day of chunk) read.hvals(recordsKey(prefix, siteId, day));
    const texts = (await read.exec()) ?? [];
    const write = redis.pipeline();
    chunk.forEach((day, i) => {
      const [err, values] = texts[i]!;
      if (err) throw err;
      const visits = (values as string[]).filter((t) => t.startsWith('[')).map((t) => decodeVisit(t, day));
      const tag = `${visits.length}:${randomUUID().slice(0, 8)}`;
      const buf = buildColumns(visits, tag);
      // the columns, then their tag: a reader that sees the tag finds the columns it names
      write.set(columnsKey(prefix, siteId, day), buf, 'EX', RECORDS_TTL_S);
      write.hset(recordsKey(prefix, siteId, day), TAG, tag).expire(recordsKey(prefix, siteId, day), RECORDS_TTL_S);
      if (each) each(day, readColumns(buf, day)!);
    });
    const written = (await write.exec()) ?? [];
    const writeFailed = written.find(([err]) => err);
    if (writeFailed) throw writeFailed[0];
  }
}

/**
 * Columns this process read last, by key, up to 128 MB (90 days of a site with 5 million events a quarter take
 * about 90): used while the day's tag in Redis is the one they were made with, so a filtered query over 90 days
 * reads no columns from Redis once it has them (a dashboard asks the same days once per panel). The oldest go
 * first.
 */
const kept = new Map<string, DayColumns>();
const KEPT_BYTES = 128 * 1048576;
let keptBytes = 0;
function keep(key: string, cols: DayColumns): void {
  const old = kept.get(key);
  if (old) keptBytes -= old.bytes;
  kept.delete(key);
  kept.set(key, cols);
  keptBytes += cols.bytes;
  for (const [k, c] of kept) {
    if (keptBytes <= KEPT_BYTES || k === key) break;
    kept.delete(k);
    keptBytes -= c.bytes;
  }
}

/** Records the closed visits of days not recorded in full, read from `visits` (a scan on FerretDB), and marks the days. */
async function fillFromVisits(models: Models, redis: Redis, prefix: string, site: Types.ObjectId, days: string[]) {
  const siteId = site.toHexString();
  const wanted = new Set(days);
  const stored = await models.Visit.find(
    { siteId: site, day: { $gte: days[0]!, $lte: days.at(-1)! }, closed: true, 'dims.bot': false },
    { day: 1, visitor: 1, dims: 1, summary: 1 },
  ).lean<Array<RecordedVisit & { _id: string }>>();
  await writeVisitRecords(
    redis,
    prefix,
    stored.filter((v) => wanted.has(v.day) && v.summary).map((v) => ({ ...v, id: v._id, siteId })),
  );
  const mark = redis.pipeline();
  for (const day of days)
    mark.hset(recordsKey(prefix, siteId, day), COMPLETE, '1').expire(recordsKey(prefix, siteId, day), RECORDS_TTL_S);
  await mark.exec();
}

/**
 * Drops a site's records of the days `inRange` says: rollups rebuild, before it rolls them up again (a visit it
 * rebuilds differently must not stay), and after (a day before `vr-since` that a query filled meanwhile from
 * the half-rebuilt `visits` is filled again).
 */
export async function dropVisitRecords(
  redis: Redis,
  prefix: string,
  siteId: string,
  inRange: (day: string) => boolean,
  onlyFilled: boolean,
): Promise<void> {
  const head = recordsKey(prefix, siteId, '');
  for await (const keys of redis.scanStream({ match: `${head}*`, count: 1_000 }) as AsyncIterable<string[]>) {
    let drop = keys.filter((k) => inRange(k.slice(head.length)));
    if (onlyFilled && drop.length) {
      const marked = await Promise.all(drop.map((k) => redis.hexists(k, COMPLETE)));
      drop = drop.filter((_, i) => marked[i]);
    }
    if (drop.length) await redis.unlink(...drop, ...drop.map((k) => columnsKey(prefix, siteId, k.slice(head.length))));
  }
}
