import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A visit ends after 30 minutes without an event (as Plausible, PostHog and GA4 count). */
export const VISIT_IDLE_MS = 30 * 60_000;

/**
 * Open visits live in Redis until the visit closer rolls them up, so enrichment costs the ingest worker one
 * script call per job and no database write:
 * - `visit:<site>:<visitor>` → the visitor's current visit id (expires 30 minutes after its last event);
 * - `visitev:<visit id>` → hash of its stored events' summary records (visit-events.ts);
 * - `visitmeta:<visit id>` → hash: site, visitor, start, last (event time, ms), dims (JSON fixed by its first
 *   event), touched (wall clock of its last event);
 * - `open-visits` (all sites) and `open-visits:<site>` → sorted sets of visit ids by `touched`;
 * - `browser-of:<site>:<profile>` → the browser (visitor id) a person was last seen on, for 30 minutes.
 * An event within 30 minutes (event time) of its visitor's visit joins it and extends it; later ones start a
 * new visit; an event from long before (a late delivery) gets a visit of its own and leaves the current one
 * alone. `join only` (server events) never starts a visit, nor does an event sent without dimensions (one
 * that the job expects to join the visit of the event before it). A request that finds no visit may name a
 * second visitor (`alone`: a server event's own visit without a browser). The job's requests run in
 * event-time order in one atomic script, so concurrent jobs of one visitor agree on the visit; each visitor's
 * current visit and each visit's hash are read once and written once, at the end.
 * KEYS: open-visits (routes the call on a cluster; every key shares the prefix's hash tag).
 * ARGV: idle, now, meta prefix, current prefix, site-set prefix, alone dims, number of links, the links
 * (browser-of key, visitor), then 9 per request: site, visitor, browser-of key to look the visitor up by, ts,
 * new id, dims ('' = cannot start one), join only, alone visitor, alone id.
 * Returns {visit index per request (0 = none), {id, dims} per visit}.
 */
const ASSIGN = `
local idle = tonumber(ARGV[1])
local now = ARGV[2]
local metaP, visitP, siteP, aloneDims = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local nLinks = tonumber(ARGV[7])
local currents, metas, order = {}, {}, {}
local function metaOf(id)
  local m = metas[id]
  if m == nil then
    local r = redis.call('HMGET', metaP .. id, 'start', 'last', 'dims')
    if r[1] then m = {start = tonumber(r[1]), last = tonumber(r[2]), dims = r[3]} else m = false end
    metas[id] = m
  end
  return m
end
local function create(id, site, visitor, ts, dims)
  local m = {start = ts, last = ts, dims = dims, site = site, visitor = visitor, new = true, dirty = true}
  metas[id] = m
  return m
end
local function extend(m, site, ts)
  if ts < m.start then m.start = ts end
  if ts > m.last then m.last = ts end
  m.site = site
  m.dirty = true
end
local function assign(site, visitor, ts, newId, dims, joinOnly)
  local key = visitP .. site .. ':' .. visitor
  local c = currents[key]
  if c == nil then
    c = {id = redis.call('GET', key), set = false, joined = false}
    currents[key] = c
    order[#order + 1] = key
  end
  if c.id then
    local m = metaOf(c.id)
    if m then
      if ts <= m.last + idle and ts >= m.start - idle then
        extend(m, site, ts)
        c.joined = true
        return c.id
      end
      if ts < m.start - idle then
        if joinOnly or dims == '' then return false end
        local o = metaOf(newId)
        if o then extend(o, site, ts) else create(newId, site, visitor, ts, dims) end
        return newId
      end
    end
  end
  if joinOnly or dims == '' then return false end
  create(newId, site, visitor, ts, dims)
  c.id = newId
  c.set = true
  return newId
end
local lookedUp = {}
local index, visits, result = {}, {}, {}
local i = 8 + 2 * nLinks
while i + 8 <= #ARGV do
  local site, visitor, lookup, ts = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if visitor == '' and lookup ~= '' then
    if lookedUp[lookup] == nil then lookedUp[lookup] = redis.call('GET', lookup) or '' end
    visitor = lookedUp[lookup]
  end
  local id = false
  if visitor ~= '' then id = assign(site, visitor, ts, ARGV[i + 4], ARGV[i + 5], ARGV[i + 6] == '1') end
  if not id and ARGV[i + 7] ~= '' then id = assign(site, ARGV[i + 7], ts, ARGV[i + 8], aloneDims, false) end
  if id then
    if not index[id] then
      visits[#visits + 1] = {id, metas[id].dims}
      index[id] = #visits
    end
    result[#result + 1] = index[id]
  else
    result[#result + 1] = 0
  end
  i = i + 9
end
for id, m in pairs(metas) do
  if m and m.dirty then
    if m.new then
      redis.call('HSET', metaP .. id, 'site', m.site, 'visitor', m.visitor, 'dims', m.dims, 'start', m.start,
        'last', m.last, 'touched', now)
    else
      redis.call('HSET', metaP .. id, 'start', m.start, 'last', m.last, 'touched', now)
    end
    redis.call('ZADD', KEYS[1], now, id)
    redis.call('ZADD', siteP .. m.site, now, id)
  end
end
for _, key in ipairs(order) do
  local c = currents[key]
  if c.set then redis.call('SET', key, c.id, 'PX', idle)
  elseif c.joined then redis.call('PEXPIRE', key, idle) end
end
for l = 8, 7 + 2 * nLinks, 2 do redis.call('SET', ARGV[l], ARGV[l + 1], 'PX', idle) end
return {result, visits}
`;

declare module 'ioredis' {
  interface Redis {
    tmVisits(...args: string[]): Promise<unknown>;
  }
}

export interface VisitRequest {
  siteId: string;
  /** The visitor's id; '' to look it up by `lookup`. */
  visitor: string;
  /** The browser-of key of a server event's person, when it names no visitor. */
  lookup?: string;
  ts: number;
  /** The dimensions (JSON) this event would fix if it started the visit; '' when it cannot start one. */
  dims: string;
  joinOnly: boolean;
  /** The visitor of the event's own visit when it finds none (server events; dimensions: `aloneDims`). */
  alone?: string;
}

export interface AssignedVisit {
  id: string;
  /** The visit's dimensions (JSON), fixed by its first event. */
  dims: string;
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
export const visitIdOf = (siteId: string, visitor: string, ts: number) => `${siteId}:${visitorHash(visitor)}:${ts}`;

const visitorHash = (visitor: string) => createHash('sha1').update(visitor).digest('base64url').slice(0, 16);
/** Visitors' hashes, kept across jobs (a visitor's events come in many jobs). */
const hashes = new Map<string, string>();

export const openVisitKeys = (prefix: string, siteId?: string) => ({
  all: `${prefix}:open-visits`,
  site: `${prefix}:open-visits:${siteId ?? ''}`,
  meta: `${prefix}:visitmeta:`,
});

/** An open visit's event records (visit-events.ts). */
export const visitEventsKey = (prefix: string, visitId: string) => `${prefix}:visitev:${visitId}`;

/** The key of the browser a person was last seen on. */
export const browserOfKey = (prefix: string, siteId: string, profileId: string) =>
  `${prefix}:browser-of:${siteId}:${profileId}`;

/**
 * Assigns each of a job's events to its visitor's visit, in the order given (event time), and records the
 * browsers people were seen on (`links`: browser-of key → visitor), in one script call; null for an event that
 * finds no visit and has no `alone` visitor.
 */
export async function assignVisits(
  redis: Redis,
  prefix: string,
  requests: VisitRequest[],
  options: { idleMs?: number; aloneDims?: string; links?: Map<string, string> } = {},
): Promise<Array<AssignedVisit | null>> {
  const links = options.links ?? new Map<string, string>();
  if (!requests.length && !links.size) return [];
  if (!redis.tmVisits) redis.defineCommand('tmVisits', { numberOfKeys: 1, lua: ASSIGN });
  const keys = openVisitKeys(prefix);
  const args: string[] = [
    String(options.idleMs ?? VISIT_IDLE_MS),
    String(Date.now()),
    keys.meta,
    `${prefix}:visit:`,
    `${keys.all}:`,
    options.aloneDims ?? '{}',
    String(links.size),
  ];
  for (const [key, visitor] of links) args.push(key, visitor);
  const idOf = (siteId: string, visitor: string, ts: number) => {
    let h = hashes.get(visitor);
    if (h === undefined) {
      h = visitorHash(visitor);
      if (hashes.size >= 50_000) hashes.clear();
      hashes.set(visitor, h);
    }
    return `${siteId}:${h}:${ts}`;
  };
  for (const r of requests) {
    const ts = String(r.ts);
    args.push(
      r.siteId,
      r.visitor,
      r.lookup ?? '',
      ts,
      // a request that cannot start a visit needs no id for one
      r.visitor && r.dims && !r.joinOnly ? idOf(r.siteId, r.visitor, r.ts) : '',
      r.dims,
      r.joinOnly ? '1' : '0',
      r.alone ?? '',
      r.alone ? idOf(r.siteId, r.alone, r.ts) : '',
    );
  }
  const [index, visits] = (await redis.tmVisits(keys.all, ...args)) as [number[], Array<[string, string]>];
  const assigned = visits.map(([id, dims]) => ({ id, dims }));
  return index.map((k) => (k ? assigned[k - 1]! : null));
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
    pipeline.unlink(`${keys.meta}${v.id}`, visitEventsKey(prefix, v.id));
  }
  await pipeline.exec();
}
