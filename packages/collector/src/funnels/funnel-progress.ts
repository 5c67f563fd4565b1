import { randomUUID } from 'node:crypto';
import type { FunnelOrder, FunnelStepDefinition } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import { localDay } from '../analytics/index.js';
import type { FunnelDoc, FunnelPersonEvent, FunnelPersonState, Models } from '../models/index.js';
import { dayOutcomes, type FunnelDims, type FunnelEvent, windowMs } from './funnel-match.js';
import { type DayWrites, funnelBase, writeDays } from './funnel-state.js';

/** A person keeps at most this many funnel events; older days keep the outcome they had. */
export const PERSON_EVENTS_CAP = 1_000;

/** A saved funnel ready to be kept current. */
export interface LiveFunnel {
  id: string;
  siteId: string;
  steps: FunnelStepDefinition[];
  window: string;
  windowMs: number;
  order: FunnelOrder;
}

export const liveFunnel = (f: Pick<FunnelDoc, '_id' | 'siteId' | 'steps' | 'window' | 'order'>): LiveFunnel => ({
  id: f._id.toHexString(),
  siteId: f.siteId.toHexString(),
  steps: f.steps,
  window: f.window,
  windowMs: windowMs(f.window) ?? 14 * 86_400_000,
  order: f.order,
});

/** One stored event for a funnel: whose, when, which steps (0: other activity, kept for strict order). */
export interface FunnelInput {
  person: string;
  t: number;
  mask: number;
  /** The event's message id: an event applied twice (a retried job) counts once. */
  id: string;
  dims?: FunnelDims;
}

export interface ProgressDeps {
  models: Models;
  redis: Redis;
  prefix: string;
}

const asEntry = (e: FunnelInput): FunnelPersonEvent =>
  e.dims
    ? { t: e.t, m: e.mask, i: e.id, c: e.dims.channel, g: e.dims.country, d: e.dims.device }
    : { t: e.t, m: e.mask, i: e.id };
const asEvent = (e: FunnelPersonEvent): FunnelEvent => ({
  t: e.t,
  mask: e.m,
  dims: e.c === undefined ? undefined : { channel: e.c, country: e.g!, device: e.d! },
});

/** A person's events with more added: sorted by time, each id once, runs of other activity kept as one, capped. */
function mergeEvents(
  current: FunnelPersonEvent[],
  added: FunnelPersonEvent[],
  frozenBefore: number,
): { events: FunnelPersonEvent[]; frozenBefore: number } {
  const seen = new Set(current.map((e) => e.i));
  const all = [...current];
  for (const e of added) {
    if (seen.has(e.i) || e.t < frozenBefore) continue;
    seen.add(e.i);
    all.push(e);
  }
  all.sort((a, b) => a.t - b.t || (a.i < b.i ? -1 : a.i > b.i ? 1 : 0));
  // strict order only needs to know that something happened between two steps
  const events = all.filter((e, i) => e.m !== 0 || i === 0 || all[i - 1]!.m !== 0);
  if (events.length <= PERSON_EVENTS_CAP) return { events, frozenBefore };
  const kept = events.slice(events.length - PERSON_EVENTS_CAP);
  return { events: kept, frozenBefore: kept[0]!.t };
}

/** A person's state and a visitor id's forward (the person it was merged into) live this long after a write. */
export const PERSON_STATE_TTL_S = 400 * 86_400;
const stateKey = (base: string, person: string) => `${base}:s:${person}`;
const forwardKey = (base: string, person: string) => `${base}:to:${person}`;

/**
 * Applies stored events to a saved funnel: each person's state (in Redis, beside the bitmaps) takes the events,
 * each day's outcome is worked out again from them, and the bitmaps and counts move to match, the state and the
 * bitmaps in one script (atomic, as a transaction is). `merges` fold a visitor id's state into its profile's
 * (identify joined them) and leave a forward behind: a later event of that visitor id that reaches the worker
 * without its profile (its job read the links before the identify's job wrote them) goes to the profile. Each
 * person is held by one job at a time (a Redis lock; a person another job holds waits for the next pass), so
 * concurrent jobs and retried ones leave the same state. No MongoDB read or write: a job costs two Redis round
 * trips per funnel (one more a pass when other jobs hold some of its people).
 */
export async function applyToFunnel(
  deps: Pick<ProgressDeps, 'redis' | 'prefix'>,
  funnel: LiveFunnel,
  timezone: string,
  inputs: FunnelInput[],
  merges: Array<{ from: string; into: string }> = [],
): Promise<void> {
  const added = new Map<string, FunnelPersonEvent[]>();
  for (const e of inputs) added.set(e.person, [...(added.get(e.person) ?? []), asEntry(e)]);
  const mergeFrom = new Map<string, string[]>();
  // each visitor id merges once, into one person; its events of this batch go to that person
  const claimed = new Set<string>();
  for (const m of merges) {
    if (m.from === m.into || claimed.has(m.from)) continue;
    claimed.add(m.from);
    mergeFrom.set(m.into, [...(mergeFrom.get(m.into) ?? []), m.from]);
    const own = added.get(m.from);
    if (!own) continue;
    added.set(m.into, [...(added.get(m.into) ?? []), ...own]);
    added.delete(m.from);
  }
  const people = [...new Set([...added.keys(), ...mergeFrom.keys()])];
  const base = funnelBase(deps.prefix, funnel.siteId, funnel.id);
  let busy = false;
  for (let attempt = 0; people.length && attempt < 50; attempt++) {
    if (busy) await new Promise((r) => setTimeout(r, Math.min(5 * attempt, 100)));
    const token = randomUUID();
    const pass = await lockAndRead(deps.redis, base, people, mergeFrom, token);
    const { locked } = pass;
    const later = people.filter((p) => !locked.has(p));
    busy = later.length > 0;
    const held = [...locked].flatMap((p) => [p, ...(mergeFrom.get(p) ?? [])]);
    let forwarded: Map<string, string> | undefined;
    try {
      forwarded = await applyLocked(deps, funnel, timezone, base, pass, added, mergeFrom, held, token);
    } finally {
      // the writes released the locks; after an error they are released here
      if (!forwarded) await unlockPeople(deps.redis, base, held, token);
    }
    const moving = [...forwarded].map(([from, into]) => ({ into, events: added.get(from) ?? [] }));
    for (const p of locked) {
      added.delete(p);
      mergeFrom.delete(p);
    }
    // a forwarded visitor id's events join its person's, for the next pass
    for (const { into, events } of moving) {
      added.set(into, [...(added.get(into) ?? []), ...events]);
      if (!later.includes(into)) later.push(into);
    }
    people.splice(0, people.length, ...later);
  }
  if (people.length) throw new Error(`funnel ${funnel.id}: people kept busy by other jobs`);
}

/**
 * One pass over the people this job holds (read with their locks, see lockAndRead): one script of the new
 * states, bitmaps and counts, which also releases the locks. Returns the visitor ids found forwarded to a person
 * (their events not applied).
 */
async function applyLocked(
  deps: Pick<ProgressDeps, 'redis'>,
  funnel: LiveFunnel,
  timezone: string,
  base: string,
  pass: Pass,
  added: Map<string, FunnelPersonEvent[]>,
  mergeFrom: Map<string, string[]>,
  held: string[],
  token: string,
): Promise<Map<string, string>> {
  const { states, numbers } = pass;
  const locked = [...pass.locked];
  const forwarded = new Map<string, string>();
  for (const p of locked) {
    const into = added.has(p) ? pass.forwards.get(p) : undefined;
    if (into && into !== p) forwarded.set(p, into);
  }
  const plans = locked.flatMap((person) => {
    if (forwarded.has(person)) return [];
    const from = (mergeFrom.get(person) ?? []).flatMap((p) => {
      const state = states.get(p);
      return state ? [{ person: p, state }] : [];
    });
    if (!added.has(person) && !from.length) return [];
    return [planPerson(funnel, timezone, person, states.get(person), from, added.get(person) ?? [])];
  });
  const forwards = locked.flatMap((into) => (mergeFrom.get(into) ?? []).map((from) => ({ from, into })));
  // state, bitmaps and counts move together, in one script (one hash tag per funnel: one node of a Redis Cluster)
  const writes = new FunnelWrites();
  for (const p of plans) {
    writes.set(stateKey(base, p.person), JSON.stringify(p.set));
    writeDays(writes, base, numbers.get(p.person)!, funnel.steps.length, p.before, p.set.days);
    // the merged visitor ids' outcomes come off the bitmaps, and their states go
    for (const f of p.from) {
      writeDays(writes, base, numbers.get(f.person)!, funnel.steps.length, f.state.days, {});
      writes.unlink(stateKey(base, f.person));
    }
  }
  for (const f of forwards) writes.set(forwardKey(base, f.from), f.into);
  for (const p of held) writes.unlock(lockKey(base, p));
  await writes.exec(deps.redis, PERSON_STATE_TTL_S, token);
  return forwarded;
}

/**
 * One pass's writes, sent as one script: a job touches hundreds of people, and a command each (as a transaction
 * of SET, SETBIT and HINCRBY) cost the worker more in building commands than the funnel's own work. Counts are
 * summed per key and field, members and keys named once. Runs in this order: states and forwards set (with the
 * TTL), bits, counts, members, states unlinked, then the locks still held with the token released.
 */
class FunnelWrites implements DayWrites {
  private keys = new Map<string, number>();
  private sets: string[] = [];
  private bits: Array<string | number> = [];
  private counts = new Map<number, number>();
  private fields = new Map<number, Map<string, number>>();
  private members = new Map<number, Set<string>>();
  private unlinks: number[] = [];
  private locks: number[] = [];

  private key(k: string): number {
    let i = this.keys.get(k);
    if (i === undefined) {
      i = this.keys.size + 1;
      this.keys.set(k, i);
    }
    return i;
  }
  set(key: string, value: string) {
    this.sets.push(String(this.key(key)), value);
  }
  setbit(key: string, offset: number, value: 0 | 1) {
    this.bits.push(this.key(key), offset, value);
  }
  incr(key: string) {
    const k = this.key(key);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  hincrby(key: string, field: string, by: number) {
    const k = this.key(key);
    const f = this.fields.get(k) ?? new Map<string, number>();
    f.set(field, (f.get(field) ?? 0) + by);
    this.fields.set(k, f);
  }
  sadd(key: string, member: string) {
    const k = this.key(key);
    const m = this.members.get(k) ?? new Set<string>();
    m.add(member);
    this.members.set(k, m);
  }
  unlink(key: string) {
    this.unlinks.push(this.key(key));
  }
  unlock(key: string) {
    this.locks.push(this.key(key));
  }

  async exec(redis: Redis, ttlSeconds: number, token: string): Promise<void> {
    const counts = [...this.counts].flat();
    const fields = [...this.fields].flatMap(([k, f]) =>
      [...f].filter(([, by]) => by !== 0).flatMap(([x, by]) => [k, x, by]),
    );
    const members = [...this.members].flatMap(([k, m]) => [...m].flatMap((x) => [k, x]));
    if (!this.keys.size) return;
    await redis.eval(
      APPLY,
      this.keys.size,
      ...this.keys.keys(),
      ttlSeconds,
      token,
      this.sets.length / 2,
      ...this.sets,
      this.bits.length / 3,
      ...this.bits,
      counts.length / 2,
      ...counts,
      fields.length / 3,
      ...fields,
      members.length / 2,
      ...members,
      this.unlinks.length,
      ...this.unlinks,
      this.locks.length,
      ...this.locks,
    );
  }
}

/** FunnelWrites' script. ARGV: TTL, token, then per kind a count and its entries (key numbers into KEYS). */
const APPLY = `
local a = 3
local function arg() local v = ARGV[a]; a = a + 1; return v end
local ttl, token = ARGV[1], ARGV[2]
for _ = 1, tonumber(arg()) do local k = KEYS[tonumber(arg())]; local v = arg(); redis.call('SET', k, v, 'EX', ttl) end
for _ = 1, tonumber(arg()) do local k = KEYS[tonumber(arg())]; local o = arg(); local b = arg(); redis.call('SETBIT', k, o, b) end
for _ = 1, tonumber(arg()) do local k = KEYS[tonumber(arg())]; local n = arg(); redis.call('INCRBY', k, n) end
for _ = 1, tonumber(arg()) do local k = KEYS[tonumber(arg())]; local f = arg(); local n = arg(); redis.call('HINCRBY', k, f, n) end
for _ = 1, tonumber(arg()) do local k = KEYS[tonumber(arg())]; local m = arg(); redis.call('SADD', k, m) end
for _ = 1, tonumber(arg()) do redis.call('UNLINK', KEYS[tonumber(arg())]) end
for _ = 1, tonumber(arg()) do local k = KEYS[tonumber(arg())]; if redis.call('GET', k) == token then redis.call('DEL', k) end end
return 0`;

/**
 * Locks each person for this job (SET NX, expiring after 60 s should the worker die) and, for each lock taken,
 * returns the person's state, forward and number in the funnel's bitmaps (made for a person, `ARGV[3 + 2i]` =
 * 'a'; only read for a merging visitor id, 'r', which has one if it has a state).
 * KEYS: n locks, n states, n forwards, the number hash, the last number. ARGV: token, lock ms, then per person
 * its name and 'a' or 'r'.
 */
const LOCK_AND_READ = `
local n = (#KEYS - 2) / 3
local out = {}
for i = 1, n do
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    local person = ARGV[1 + 2 * i]
    local id = redis.call('HGET', KEYS[3 * n + 1], person)
    if not id and ARGV[2 + 2 * i] == 'a' then
      id = redis.call('INCR', KEYS[3 * n + 2])
      redis.call('HSET', KEYS[3 * n + 1], person, id)
    end
    out[#out + 1] = { i, redis.call('GET', KEYS[n + i]), redis.call('GET', KEYS[2 * n + i]), tonumber(id or 0) }
  end
end
return out`;
const UNLOCK = `
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0`;
const lockKey = (base: string, person: string) => `${base}:lock:${person}`;

/** What one pass holds: the people locked for it (each with its merging visitor ids) and what was read. */
interface Pass {
  locked: Set<string>;
  states: Map<string, FunnelPersonState>;
  forwards: Map<string, string>;
  numbers: Map<string, number>;
}

/**
 * Takes each person (with the visitor ids merging into them) for this job and reads what the pass needs, in one
 * round trip; a person another job holds (or one of whose visitor ids it holds) is left for the next pass.
 */
async function lockAndRead(
  redis: Redis,
  base: string,
  people: string[],
  mergeFrom: Map<string, string[]>,
  token: string,
): Promise<Pass> {
  const groups = people.map((p) => [p, ...(mergeFrom.get(p) ?? [])]);
  const all = groups.flat();
  const modes = groups.flatMap((g) => g.map((_, i) => (i === 0 ? 'a' : 'r')));
  const reply = (await redis.eval(
    LOCK_AND_READ,
    all.length * 3 + 2,
    ...all.map((p) => lockKey(base, p)),
    ...all.map((p) => stateKey(base, p)),
    ...all.map((p) => forwardKey(base, p)),
    `${base}:pid`,
    `${base}:seq`,
    token,
    60_000,
    ...all.flatMap((p, i) => [p, modes[i]!]),
  )) as Array<[number, string | null, string | null, number]>;
  const got = new Set<number>();
  const pass: Pass = { locked: new Set(), states: new Map(), forwards: new Map(), numbers: new Map() };
  for (const [i, state, forward, id] of reply) {
    const p = all[i - 1]!;
    got.add(i - 1);
    if (state) pass.states.set(p, JSON.parse(state) as FunnelPersonState);
    if (forward) pass.forwards.set(p, forward);
    if (id) pass.numbers.set(p, id);
  }
  const release: string[] = [];
  let at = 0;
  for (const g of groups) {
    const whole = g.every((_, i) => got.has(at + i));
    g.forEach((p, i) => {
      if (!whole && got.has(at + i)) release.push(p);
    });
    if (whole) pass.locked.add(g[0]!);
    at += g.length;
  }
  await unlockPeople(redis, base, release, token);
  return pass;
}

async function unlockPeople(redis: Redis, base: string, people: string[], token: string): Promise<void> {
  if (!people.length) return;
  const keys = people.map((p) => lockKey(base, p));
  await redis.eval(UNLOCK, keys.length, ...keys, token);
}

interface Plan {
  person: string;
  from: Array<{ person: string; state: FunnelPersonState }>;
  before: FunnelPersonState['days'];
  set: FunnelPersonState;
}

/** A person's new state: their events with the new ones (and a merged visitor id's), each day worked out again. */
function planPerson(
  funnel: LiveFunnel,
  timezone: string,
  person: string,
  state: FunnelPersonState | undefined,
  from: Plan['from'],
  added: FunnelPersonEvent[],
): Plan {
  const frozen = Math.max(state?.frozenBefore ?? 0, ...from.map((f) => f.state.frozenBefore));
  const merged = mergeEvents(state?.events ?? [], [...from.flatMap((f) => f.state.events), ...added], frozen);
  const recomputed = dayOutcomes(
    merged.events.map(asEvent),
    merged.frozenBefore,
    Number.POSITIVE_INFINITY,
    { steps: funnel.steps.length, windowMs: funnel.windowMs, order: funnel.order },
    timezone,
  );
  // days before the first event kept keep the outcome they had (the person's or the merged visitor id's)
  const after: FunnelPersonState['days'] = {};
  const firstKept = merged.frozenBefore ? localDay(merged.frozenBefore, timezone) : '';
  for (const d of [state, ...from.map((f) => f.state)]) {
    for (const [day, o] of Object.entries(d?.days ?? {})) if (day < firstKept) after[day] ??= o;
  }
  Object.assign(after, recomputed);
  return {
    person,
    from,
    before: state?.days ?? {},
    set: { events: merged.events, days: after, frozenBefore: merged.frozenBefore },
  };
}

/**
 * Erasure of a person from the site's saved funnels: the state, number and forward of the profile and of each of
 * the given visitor ids (the person's most recent ones) go. The bitmaps and counts stay, as the roll-ups do: they
 * hold numbers, not people. A forward of an older visitor id (one of thousands) expires with PERSON_STATE_TTL_S.
 */
export async function erasePersonFromFunnels(
  deps: ProgressDeps,
  siteId: Types.ObjectId,
  profileId: Types.ObjectId,
  visitorIds: string[],
): Promise<void> {
  const funnels = await deps.models.Funnel.find({ siteId }, { _id: 1 }).lean();
  if (!funnels.length) return;
  const people = [`p:${profileId.toHexString()}`, ...visitorIds.map((v) => `a:${v}`)];
  for (const f of funnels) {
    const base = funnelBase(deps.prefix, siteId.toHexString(), f._id.toHexString());
    for (let i = 0; i < people.length; i += 500) {
      const slice = people.slice(i, i + 500);
      // one hash slot per funnel ({funnelId} in every key), so each call is one command on a cluster too
      await deps.redis.unlink(...slice.flatMap((p) => [stateKey(base, p), forwardKey(base, p)]));
      await deps.redis.hdel(`${base}:pid`, ...slice);
    }
  }
}
