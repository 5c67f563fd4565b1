import type { Redis } from 'ioredis';
import { findEachById, type Models, type StatsBlockDoc } from '../models/index.js';
import { addCounts, type Counts, zero } from './visit-summary.js';

/**
 * Stats roll-ups as blocks: one document per (site, dimension, site-local month) in `stats_blocks`, holding the
 * month's figures per day and value (`days`) and per value (`sum`) as JSON text. A query over a range reads the
 * months it spans by `_id` — a 90-day range is 4 blocks, or 7 with `compare=previous` — and parses one string
 * each; full months are read from `sum`, cut ones from `days`. FerretDB 1.24 on SQLite decodes each document
 * it reads field by field and serves no other filter than `_id` without reading the whole collection
 * (docs/production.md), so a row per (day, value) cost a 90-day page breakdown 90,000 documents.
 *
 * Each block is copied to Redis as a hash (`<prefix>:sb:<block id>`: `sum`, `d:<day>` per day, and the days
 * pre-merged in aligned runs of 2, 4, 8 and 16 (`t:<level>:<n>`, see spanFields); 40 days after its last write,
 * fill or read, an absent block as an empty copy), so a query reads only what it needs from Redis — a cut month's days as
 * at most a few runs, not one field a day — and goes to MongoDB only for a block Redis does not hold. Only the
 * visit closer and `rollups rebuild` write blocks, one at a time (the closer's lock): read, add, write back.
 */

/** A row's figures, packed: visits, bounces, duration, page views, events, orders, revenue[, revenue by currency]. */
type Packed = [number, number, number, number, number, number, number, Record<string, number>?];
/** value → figures (a Map: values are visitors' data, `__proto__` included) */
export type ValueMap = Map<string, Packed>;
/** day → value → figures */
export type DayMap = Map<string, ValueMap>;

/** Stored as arrays of [key, value] pairs. */
export const parseDays = (s: string): DayMap =>
  new Map((JSON.parse(s) as Array<[string, Array<[string, Packed]>]>).map(([day, values]) => [day, new Map(values)]));
export const parseSum = (s: string): ValueMap => new Map(JSON.parse(s) as Array<[string, Packed]>);
const daysText = (days: DayMap) => JSON.stringify([...days].map(([day, values]) => [day, [...values]]));
const dayText = (values: ValueMap) => JSON.stringify([...values]);
const sumText = (sum: ValueMap) => JSON.stringify([...sum]);

const CACHE_TTL_S = 40 * 86_400;

export const blockId = (siteId: string, dim: string, month: string) => `${siteId}:${dim}:${month}`;
const copyKey = (prefix: string, id: string) => `${prefix}:sb:${id}`;
/** Field `x` of a copy: its layout (`1`, before the runs, is read as no copy and replaced). */
const LAYOUT = '2';

export function pack(c: Counts): Packed {
  const p: Packed = [c.visits, c.bounces, c.duration, c.pageviews, c.events, c.orders, c.revenue];
  if (Object.keys(c.revenueByCurrency).length) p.push({ ...c.revenueByCurrency });
  return p;
}

export function unpack(p: Packed): Counts {
  return {
    visits: p[0],
    bounces: p[1],
    duration: p[2],
    pageviews: p[3],
    events: p[4],
    orders: p[5],
    revenue: p[6],
    revenueByCurrency: { ...(p[7] ?? {}) },
  };
}

/** Adds packed figures into `c` (as addCounts does, without unpacking). */
export function addPacked(c: Counts, p: Packed): void {
  c.visits += p[0];
  c.bounces += p[1];
  c.duration += p[2];
  c.pageviews += p[3];
  c.events += p[4];
  c.orders += p[5];
  c.revenue = Math.round((c.revenue + p[6]) * 100) / 100;
  const cur = p[7];
  if (cur)
    for (const [code, n] of Object.entries(cur))
      c.revenueByCurrency[code] = Math.round(((c.revenueByCurrency[code] ?? 0) + n) * 100) / 100;
}

/** `a` plus `b`, as a new array (exact: revenue is kept to cents as addPacked does). */
function plusPacked(a: Packed, b: Packed): Packed {
  const out: Packed = [
    a[0] + b[0],
    a[1] + b[1],
    a[2] + b[2],
    a[3] + b[3],
    a[4] + b[4],
    a[5] + b[5],
    Math.round((a[6] + b[6]) * 100) / 100,
  ];
  if (a[7] || b[7]) {
    const cur: Record<string, number> = { ...(a[7] ?? {}) };
    for (const [code, n] of Object.entries(b[7] ?? {})) cur[code] = Math.round(((cur[code] ?? 0) + n) * 100) / 100;
    out.push(cur);
  }
  return out;
}

/** The values of several maps summed (new arrays; the inputs are left as they are). */
function mergeValues(maps: ValueMap[]): ValueMap {
  const out: ValueMap = new Map();
  for (const m of maps) {
    for (const [value, p] of m) {
      const had = out.get(value);
      out.set(value, had ? plusPacked(had, p) : p);
    }
  }
  return out;
}

/** Pre-merged runs: levels 1–4, runs of 2, 4, 8 and 16 days, aligned on the month's first day. */
const LEVELS = 4;
const dayOfMonth = (day: string) => Number(day.slice(8, 10)) - 1;

/**
 * The fields of a block's copy whose sum is the given days of its month (consecutive, oldest first): each
 * aligned run of 2^level days wholly inside them as one `t:<level>:<n>` field, the days left over as `d:<day>`.
 * A cut month of 23 days is 5 fields, not 23.
 */
export function spanFields(days: string[]): string[] {
  if (!days.length) return [];
  const month = days[0]!.slice(0, 8);
  let a = dayOfMonth(days[0]!);
  const b = dayOfMonth(days.at(-1)!);
  const out: string[] = [];
  while (a <= b) {
    let level = 0;
    while (level < LEVELS && a % 2 ** (level + 1) === 0 && a + 2 ** (level + 1) - 1 <= b) level++;
    out.push(level ? `t:${level}:${a >> level}` : `d:${month}${String(a + 1).padStart(2, '0')}`);
    a += 2 ** level;
  }
  return out;
}

/** A month's runs (spanFields) as [field, values] pairs, from its days; runs with no day are left out. */
function runsOf(days: DayMap): Array<[string, ValueMap]> {
  const byIndex = new Map<number, ValueMap>();
  for (const [day, values] of days) byIndex.set(dayOfMonth(day), values);
  const out: Array<[string, ValueMap]> = [];
  for (let level = 1; level <= LEVELS; level++) {
    const len = 2 ** level;
    for (let n = 0; n * len < 31; n++) {
      const parts: ValueMap[] = [];
      for (let i = n * len; i < (n + 1) * len; i++) {
        const v = byIndex.get(i);
        if (v) parts.push(v);
      }
      if (parts.length) out.push([`t:${level}:${n}`, mergeValues(parts)]);
    }
  }
  return out;
}

function addInto(map: ValueMap, value: string, c: Counts): void {
  const had = map.get(value);
  map.set(value, pack(addCounts(had ? unpack(had) : zero(), c)));
}

/** Each value's figures over the month's days. */
export function sumOfDays(days: DayMap): ValueMap {
  const sums = new Map<string, Counts>();
  for (const values of days.values()) {
    for (const [value, p] of values) {
      const s = sums.get(value) ?? zero();
      addCounts(s, unpack(p));
      sums.set(value, s);
    }
  }
  return new Map([...sums].map(([v, c]) => [v, pack(c)]));
}

/** One roll-up row of one day: each visit's figures in it, by visit id. */
export interface BlockRow {
  siteId: string;
  day: string;
  dim: string;
  value: string;
  byVisit: Map<string, Counts>;
}

/**
 * Adds rows to their blocks, each visit once per block (a block lists the visits it holds, unconfirmed, in
 * `jobs`; a visit already listed is skipped, so a run that crashed before confirming is replayed without
 * doubling). Returns the blocks touched, for confirmBlocks once the visits are stored.
 */
export async function addToBlocks(models: Models, redis: Redis, prefix: string, rows: BlockRow[]): Promise<string[]> {
  const byBlock = new Map<string, { siteId: string; dim: string; month: string; rows: BlockRow[] }>();
  for (const row of rows) {
    const month = row.day.slice(0, 7);
    const id = blockId(row.siteId, row.dim, month);
    const b = byBlock.get(id) ?? { siteId: row.siteId, dim: row.dim, month, rows: [] };
    b.rows.push(row);
    byBlock.set(id, b);
  }
  const ids = [...byBlock.keys()];
  if (!ids.length) return ids;
  // a crash between the write below and the cache's refresh must not leave an old copy in Redis
  await redis.unlink(...ids.map((id) => copyKey(prefix, id)));
  const current = new Map(
    (await findEachById(ids, (id) => models.StatsBlock.findById(id).lean<StatsBlockDoc>())).map((d) => [d._id, d]),
  );
  const written: Copy[] = [];
  const ops = [];
  for (const [id, b] of byBlock) {
    const doc = current.get(id);
    const days = parseDays(doc?.days ?? '[]');
    const applied = new Set(doc?.jobs ?? []);
    const fresh = new Set<string>();
    for (const row of b.rows) {
      for (const [visitId, counts] of row.byVisit) {
        if (applied.has(visitId)) continue;
        let values = days.get(row.day);
        if (!values) {
          values = new Map();
          days.set(row.day, values);
        }
        addInto(values, row.value, counts);
        fresh.add(visitId);
      }
    }
    if (!fresh.size) {
      written.push({ id, days, sum: doc?.sum ?? '[]' });
      continue;
    }
    const next: StatsBlockDoc = {
      _id: id,
      siteId: b.siteId,
      dim: b.dim,
      month: b.month,
      days: daysText(days),
      sum: sumText(sumOfDays(days)),
      jobs: [...applied, ...fresh],
    };
    written.push({ id, days, sum: next.sum });
    ops.push({ replaceOne: { filter: { _id: id }, replacement: next, upsert: true } });
  }
  if (ops.length) await models.StatsBlock.bulkWrite(ops, { ordered: false });
  await cacheBlocks(redis, prefix, written, false);
  return ids;
}

/** The visits' figures are stored for good: the blocks stop listing them. */
export async function confirmBlocks(models: Models, ids: string[], visitIds: string[]): Promise<void> {
  if (!ids.length || !visitIds.length) return;
  await models.StatsBlock.bulkWrite(
    ids.map((id) => ({ updateOne: { filter: { _id: id }, update: { $pullAll: { jobs: visitIds } } } })),
    { ordered: false },
  );
}

/**
 * Takes days out of a block (rollups rebuild recomputes them): `keep` says which days stay, `redone` which of
 * the block's unconfirmed visits are being added again.
 */
export async function rewriteBlock(
  models: Models,
  redis: Redis,
  prefix: string,
  doc: StatsBlockDoc,
  keep: (day: string) => boolean,
  redone: (visitId: string) => boolean,
): Promise<void> {
  await redis.unlink(copyKey(prefix, doc._id));
  const days = parseDays(doc.days);
  for (const day of [...days.keys()]) if (!keep(day)) days.delete(day);
  if (!days.size && !doc.jobs.some((id) => !redone(id))) {
    await models.StatsBlock.deleteOne({ _id: doc._id });
    return;
  }
  const next = {
    ...doc,
    days: daysText(days),
    sum: sumText(sumOfDays(days)),
    jobs: doc.jobs.filter((id) => !redone(id)),
  };
  await models.StatsBlock.replaceOne({ _id: doc._id }, next);
  await cacheBlocks(redis, prefix, [{ id: doc._id, days, sum: next.sum }], false);
}

/** A block as copied to Redis. */
interface Copy {
  id: string;
  days: DayMap;
  sum: string;
}

/** Replaces a block's copy, or (onlyIfAbsent, a reader's fill) writes it only where there is none of this layout. */
const COPY = `if ARGV[2] == '1' and redis.call('hget', KEYS[1], 'x') == ARGV[4] then return 0 end
redis.call('del', KEYS[1])
redis.call('hset', KEYS[1], unpack(ARGV, 3))
redis.call('expire', KEYS[1], ARGV[1])
return 1`;

/** Copies blocks to Redis; `onlyIfAbsent` for a reader's copy, which must never replace a writer's. */
async function cacheBlocks(redis: Redis, prefix: string, copies: Copy[], onlyIfAbsent: boolean) {
  if (!copies.length) return;
  const p = redis.pipeline();
  for (const c of copies) {
    const fields = [
      'x',
      LAYOUT,
      'sum',
      c.sum,
      ...[...c.days].flatMap(([day, values]) => [`d:${day}`, dayText(values)]),
      ...runsOf(c.days).flatMap(([field, values]) => [field, dayText(values)]),
    ];
    p.eval(COPY, 1, copyKey(prefix, c.id), CACHE_TTL_S, onlyIfAbsent ? '1' : '0', ...fields);
  }
  const results = (await p.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
}

/**
 * Sums and runs this process parsed last, by their text (up to 8 million characters of it): a month's sums or a
 * run of a dimension with a thousand values is ~60 KB of JSON, and a 90-day breakdown of pages parsed ten of them
 * per query (18 ms of its 25 ms of CPU). A text equal to the one parsed is the same figures; the maps are read
 * only. The oldest go first.
 */
const parsed = new Map<string, ValueMap>();
const PARSED_CHARS = 8_000_000;
let parsedChars = 0;
/** The maps parsedSum keeps (one object per text, so a kept map stands for its text: visitor-counts.ts). */
const keptMaps = new WeakSet<ValueMap>();
export const isKeptParsed = (map: ValueMap) => keptMaps.has(map);
export function parsedSum(text: string): ValueMap {
  if (text.length < 1_000) return parseSum(text);
  let map = parsed.get(text);
  if (map) {
    parsed.delete(text);
    parsed.set(text, map);
    return map;
  }
  map = parseSum(text);
  parsed.set(text, map);
  keptMaps.add(map);
  parsedChars += text.length;
  for (const k of parsed.keys()) {
    if (parsedChars <= PARSED_CHARS) break;
    parsed.delete(k);
    parsedChars -= k.length;
  }
  return map;
}

/**
 * What a query reads of a block: the month's sums (`days: null`), the days it names one by one, or (`span`) the
 * sum of the days it names, as parts to be added up.
 */
export interface BlockAsk {
  id: string;
  days: string[] | null;
  span?: boolean;
}

/** What readBlocks found of one block. */
export interface BlockRead {
  sum?: ValueMap;
  days?: DayMap;
  parts?: ValueMap[];
}

/** Each block's sums, asked days or span (empty for a block that does not exist), from Redis or else MongoDB. */
export async function readBlocks(
  models: Models,
  redis: Redis,
  prefix: string,
  asks: BlockAsk[],
): Promise<Map<string, BlockRead>> {
  const out = new Map<string, BlockRead>();
  if (!asks.length) return out;
  const p = redis.pipeline();
  const fieldsOf = (a: BlockAsk) => (!a.days ? ['sum'] : a.span ? spanFields(a.days) : a.days.map((d) => `d:${d}`));
  for (const a of asks) p.hmget(copyKey(prefix, a.id), 'x', ...fieldsOf(a));
  // a copy in use stays: its 40 days run from its last read too (a no-op on a copy that is not there)
  for (const a of asks) p.expire(copyKey(prefix, a.id), CACHE_TTL_S);
  const results = (await p.exec()) ?? [];
  const missing: BlockAsk[] = [];
  asks.forEach((a, i) => {
    const [err, values] = results[i]!;
    if (err) throw err;
    const [held, ...parts] = values as Array<string | null>;
    if (held !== LAYOUT) {
      missing.push(a);
      return;
    }
    if (!a.days) out.set(a.id, { sum: parsedSum(parts[0] ?? '[]') });
    else if (a.span) out.set(a.id, { parts: parts.filter((t): t is string => !!t).map(parsedSum) });
    else {
      const days: DayMap = new Map();
      a.days.forEach((day, k) => {
        const text = parts[k];
        if (text) days.set(day, new Map(JSON.parse(text) as Array<[string, Packed]>));
      });
      out.set(a.id, { days });
    }
  });
  if (missing.length) {
    const docs = new Map(
      (
        await findEachById(
          missing.map((a) => a.id),
          (id) => models.StatsBlock.findById(id, { jobs: 0 }).lean<StatsBlockDoc>(),
        )
      ).map((d) => [d._id, d]),
    );
    const copies: Copy[] = [];
    for (const a of missing) {
      const doc = docs.get(a.id);
      const days = parseDays(doc?.days ?? '[]');
      copies.push({ id: a.id, days, sum: doc?.sum ?? '[]' });
      if (!a.days) out.set(a.id, { sum: parseSum(doc?.sum ?? '[]') });
      else {
        const asked = new Set(a.days);
        const found = new Map([...days].filter(([day]) => asked.has(day)));
        out.set(a.id, a.span ? { parts: [...found.values()] } : { days: found });
      }
    }
    await cacheBlocks(redis, prefix, copies, true);
  }
  return out;
}

/** The months a range of days spans, each with the range's days in it and whether it covers the whole month. */
export function monthsOf(days: string[]): Array<{ month: string; days: string[]; full: boolean }> {
  const out: Array<{ month: string; days: string[]; full: boolean }> = [];
  for (const day of days) {
    const month = day.slice(0, 7);
    if (out.at(-1)?.month !== month) out.push({ month, days: [], full: false });
    out.at(-1)!.days.push(day);
  }
  for (const m of out) {
    const [y, mo] = m.month.split('-').map(Number) as [number, number];
    m.full = m.days.length === new Date(Date.UTC(y, mo, 0)).getUTCDate();
  }
  return out;
}
