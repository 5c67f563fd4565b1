import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A visit ends after 30 minutes without an event (as Plausible, PostHog and GA4 count). */
export const VISIT_IDLE_MS = 30 * 60_000;

/**
 * Per visitor, the open visit: its id, first and last event time, and the dimensions its first event fixed
 * (source, place, device) as JSON. One script call per event, in event-time order within a job, so concurrent
 * jobs of one visitor agree on the visit. An event within 30 minutes (event time) of the visit joins it and
 * extends it; later ones start a new visit; an event from long before the open visit (a late delivery) gets a
 * visit of its own and leaves the open one alone. `join only` (server events) never starts a visit. The key
 * lives 30 minutes after its last event was processed: the visit closer waits for that before it rolls a visit
 * up (analytics/visit-closer.ts), so a closed visit never takes another event.
 */
const ASSIGN = `
local v = redis.call('HMGET', KEYS[1], 'id', 'start', 'last', 'dims')
local ts = tonumber(ARGV[1])
local idle = tonumber(ARGV[2])
if v[1] then
  local start = tonumber(v[2])
  local last = tonumber(v[3])
  if ts <= last + idle and ts >= start - idle then
    if ts > last then redis.call('HSET', KEYS[1], 'last', ARGV[1]) end
    if ts < start then redis.call('HSET', KEYS[1], 'start', ARGV[1]) end
    redis.call('PEXPIRE', KEYS[1], ARGV[6])
    return {v[1], v[4], math.min(ts, start)}
  end
  if ts < start - idle then
    if ARGV[5] == '1' then return false end
    return {ARGV[3], ARGV[4], ts}
  end
end
if ARGV[5] == '1' then return false end
redis.call('HSET', KEYS[1], 'id', ARGV[3], 'start', ARGV[1], 'last', ARGV[1], 'dims', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {ARGV[3], ARGV[4], ts}
`;

declare module 'ioredis' {
  interface Redis {
    tmVisit(key: string, ...args: string[]): Promise<unknown>;
  }
  interface ChainableCommander {
    /** ASSIGN: key, event time, idle ms, new visit id, dims JSON, join only (0/1), key ttl ms. */
    tmVisit(key: string, ...args: string[]): ChainableCommander;
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

/** Stable id of a visit started by `visitor` at `ts`. */
export const visitIdOf = (siteId: string, visitor: string, ts: number) =>
  `${siteId}:${createHash('sha1').update(visitor).digest('base64url').slice(0, 16)}:${ts}`;

/** Assigns each event to its visitor's visit, in order; null for a server event with no open visit. */
export async function assignVisits(
  redis: Redis,
  prefix: string,
  requests: VisitRequest[],
  idleMs = VISIT_IDLE_MS,
): Promise<Array<AssignedVisit | null>> {
  if (!requests.length) return [];
  if (!redis.tmVisit) redis.defineCommand('tmVisit', { numberOfKeys: 1, lua: ASSIGN });
  const pipeline = redis.pipeline();
  for (const r of requests) {
    pipeline.tmVisit(
      `${prefix}:visit:${r.siteId}:${r.visitor}`,
      String(r.ts),
      String(idleMs),
      visitIdOf(r.siteId, r.visitor, r.ts),
      JSON.stringify(r.dims),
      r.joinOnly ? '1' : '0',
      String(idleMs),
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
