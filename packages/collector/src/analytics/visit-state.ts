import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A visit ends after 30 minutes without an event (as Plausible, PostHog and GA4 count). */
export const VISIT_IDLE_MS = 30 * 60_000;

/**
 * Open visits live in Redis until the visit closer rolls them up, so enrichment costs the ingest worker one
 * pipelined script call per event and no database write:
 * - `visit:<site>:<visitor>` → the visitor's current visit id (expires 30 minutes after its last event);
 * - `visitmeta:<visit id>` → hash: site, visitor, start, last (event time, ms), dims (JSON fixed by its first
 *   event), touched (wall clock of its last event);
 * - `open-visits` (all sites) and `open-visits:<site>` → sorted sets of visit ids by `touched`.
 * An event within 30 minutes (event time) of its visitor's visit joins it and extends it; later ones start a
 * new visit; an event from long before (a late delivery) gets a visit of its own and leaves the current one
 * alone. `join only` (server events) never starts a visit, nor does an event sent without dimensions (one
 * that the job expects to join the visit of the event before it). Calls run in event-time order within a job, and
 * each is atomic, so concurrent jobs of one visitor agree on the visit.
 * KEYS: current, open-visits, open-visits:<site>. ARGV: ts, idle, new id, dims, join only, now, meta prefix,
 * site, visitor.
 */
const ASSIGN = `
local ts = tonumber(ARGV[1])
local idle = tonumber(ARGV[2])
local function touch(id, metaKey, start, last)
  redis.call('HSET', metaKey, 'start', start, 'last', last, 'touched', ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[6], id)
  redis.call('ZADD', KEYS[3], ARGV[6], id)
end
local current = redis.call('GET', KEYS[1])
if current then
  local metaKey = ARGV[7] .. current
  local m = redis.call('HMGET', metaKey, 'start', 'last', 'dims')
  if m[1] then
    local start = tonumber(m[1])
    local last = tonumber(m[2])
    if ts <= last + idle and ts >= start - idle then
      touch(current, metaKey, math.min(ts, start), math.max(ts, last))
      redis.call('PEXPIRE', KEYS[1], idle)
      return {current, m[3], math.min(ts, start)}
    end
    if ts < start - idle then
      if ARGV[5] == '1' or ARGV[4] == '{}' then return false end
      local old = ARGV[7] .. ARGV[3]
      local o = redis.call('HMGET', old, 'start', 'last', 'dims')
      if o[1] then
        touch(ARGV[3], old, math.min(ts, tonumber(o[1])), math.max(ts, tonumber(o[2])))
        return {ARGV[3], o[3], math.min(ts, tonumber(o[1]))}
      end
      redis.call('HSET', old, 'site', ARGV[8], 'visitor', ARGV[9], 'dims', ARGV[4])
      touch(ARGV[3], old, ts, ts)
      return {ARGV[3], ARGV[4], ts}
    end
  end
end
if ARGV[5] == '1' or ARGV[4] == '{}' then return false end
local metaKey = ARGV[7] .. ARGV[3]
redis.call('HSET', metaKey, 'site', ARGV[8], 'visitor', ARGV[9], 'dims', ARGV[4])
touch(ARGV[3], metaKey, ts, ts)
redis.call('SET', KEYS[1], ARGV[3], 'PX', idle)
return {ARGV[3], ARGV[4], ts}
`;

declare module 'ioredis' {
  interface Redis {
    tmVisit(...args: string[]): Promise<unknown>;
  }
  interface ChainableCommander {
    tmVisit(...args: string[]): ChainableCommander;
  }
}

export interface VisitRequest {
  siteId: string;
  visitor: string;
  ts: number;
  /** The dimensions this event would fix if it started the visit (JSON-able). */
  dims: object;
  joinOnly: boolean;
}

export interface AssignedVisit {
  id: string;
  /** The visit's dimensions, fixed by its first event. */
  dims: string;
  /** The visit's first event time so far (ms). */
  start: number;
}

/** An open visit as Redis holds it. */
export interface OpenVisitMeta {
  id: string;
  siteId: string;
  visitor: string;
  start: number;
  last: number;
  touched: number;
  dims: string;
}

/** Stable id of a visit started by `visitor` at `ts`. */
export const visitIdOf = (siteId: string, visitor: string, ts: number) =>
  `${siteId}:${createHash('sha1').update(visitor).digest('base64url').slice(0, 16)}:${ts}`;

export const openVisitKeys = (prefix: string, siteId?: string) => ({
  all: `${prefix}:open-visits`,
  site: `${prefix}:open-visits:${siteId ?? ''}`,
  meta: `${prefix}:visitmeta:`,
});

/** Assigns each event to its visitor's visit, in order; null for a server event with no open visit. */
export async function assignVisits(
  redis: Redis,
  prefix: string,
  requests: VisitRequest[],
  idleMs = VISIT_IDLE_MS,
): Promise<Array<AssignedVisit | null>> {
  if (!requests.length) return [];
  if (!redis.tmVisit) redis.defineCommand('tmVisit', { numberOfKeys: 3, lua: ASSIGN });
  const pipeline = redis.pipeline();
  const now = String(Date.now());
  for (const r of requests) {
    const keys = openVisitKeys(prefix, r.siteId);
    pipeline.tmVisit(
      `${prefix}:visit:${r.siteId}:${r.visitor}`,
      keys.all,
      keys.site,
      String(r.ts),
      String(idleMs),
      visitIdOf(r.siteId, r.visitor, r.ts),
      JSON.stringify(r.dims),
      r.joinOnly ? '1' : '0',
      now,
      keys.meta,
      r.siteId,
      r.visitor,
    );
  }
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    if (!value) return null;
    const [id, dims, start] = value as [string, string, number];
    return { id, dims, start: Number(start) };
  });
}

/** Open visits by id (those whose metadata is gone are left out). */
export async function openVisitMeta(redis: Redis, prefix: string, ids: string[]): Promise<OpenVisitMeta[]> {
  if (!ids.length) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(`${openVisitKeys(prefix).meta}${id}`);
  const results = (await pipeline.exec()) ?? [];
  const out: OpenVisitMeta[] = [];
  results.forEach(([err, h], i) => {
    if (err) throw err;
    const m = h as Record<string, string>;
    if (!m?.site) return;
    out.push({
      id: ids[i]!,
      siteId: m.site,
      visitor: m.visitor!,
      start: Number(m.start),
      last: Number(m.last),
      touched: Number(m.touched),
      dims: m.dims!,
    });
  });
  return out;
}

/** Forgets visits once they are rolled up. */
export async function forgetOpenVisits(redis: Redis, prefix: string, visits: Array<{ id: string; siteId: string }>) {
  if (!visits.length) return;
  const pipeline = redis.pipeline();
  for (const v of visits) {
    const keys = openVisitKeys(prefix, v.siteId);
    pipeline.zrem(keys.all, v.id);
    pipeline.zrem(keys.site, v.id);
    pipeline.unlink(`${keys.meta}${v.id}`);
  }
  await pipeline.exec();
}
