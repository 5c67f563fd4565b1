import { randomUUID } from 'node:crypto';
import type { FunnelOrder, FunnelStepDefinition } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { localDay } from '../analytics/index.js';
import type { FunnelDoc, FunnelPersonDoc, FunnelPersonEvent, Models } from '../models/index.js';
import { dayOutcomes, type FunnelDims, type FunnelEvent, windowMs } from './funnel-match.js';
import { funnelBase, personNumbers, writeDays } from './funnel-state.js';

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

const key = (funnelId: string, person: string) => `${funnelId}:${person}`;
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

/**
 * Applies stored events to a saved funnel: each person's state (`funnel_people`, read and written by `_id`) takes
 * the events, each day's outcome is worked out again from them, and the Redis bitmaps and counts move to match.
 * `merges` fold a visitor id's state into its profile's (identify joined them). Each person is held by one job
 * at a time (a Redis lock; a person another job holds waits for the next pass), and read and written by `_id`
 * only, so concurrent jobs and retried ones leave the same state.
 */
export async function applyToFunnel(
  deps: ProgressDeps,
  funnel: LiveFunnel,
  timezone: string,
  inputs: FunnelInput[],
  merges: Array<{ from: string; into: string }> = [],
): Promise<void> {
  const added = new Map<string, FunnelPersonEvent[]>();
  for (const e of inputs) added.set(e.person, [...(added.get(e.person) ?? []), asEntry(e)]);
  const mergeFrom = new Map<string, string[]>();
  // each visitor id merges once, into one person, and only if it is not itself a person of this batch
  const claimed = new Set<string>(added.keys());
  for (const m of merges) {
    if (m.from === m.into || claimed.has(m.from)) continue;
    claimed.add(m.from);
    mergeFrom.set(m.into, [...(mergeFrom.get(m.into) ?? []), m.from]);
  }
  const people = [...new Set([...added.keys(), ...mergeFrom.keys()])];
  const base = funnelBase(deps.prefix, funnel.siteId, funnel.id);
  for (let attempt = 0; people.length && attempt < 50; attempt++) {
    if (attempt) await new Promise((r) => setTimeout(r, 20 * Math.min(attempt, 10)));
    const token = randomUUID();
    const locked = await lockPeople(deps.redis, base, people, mergeFrom, token);
    const busy = people.filter((p) => !locked.has(p));
    try {
      await applyLocked(deps, funnel, timezone, base, [...locked], added, mergeFrom);
    } finally {
      await unlockPeople(
        deps.redis,
        base,
        [...locked].flatMap((p) => [p, ...(mergeFrom.get(p) ?? [])]),
        token,
      );
    }
    people.splice(0, people.length, ...busy);
  }
  if (people.length) throw new Error(`funnel ${funnel.id}: people kept busy by other jobs`);
}

async function applyLocked(
  deps: ProgressDeps,
  funnel: LiveFunnel,
  timezone: string,
  base: string,
  people: string[],
  added: Map<string, FunnelPersonEvent[]>,
  mergeFrom: Map<string, string[]>,
): Promise<void> {
  {
    const sources = people.flatMap((p) => mergeFrom.get(p) ?? []);
    const ids = [...people, ...sources].map((p) => key(funnel.id, p));
    const docs = new Map(
      (await deps.models.FunnelPerson.find({ _id: { $in: ids } }).lean()).map((d) => [d._id, d] as const),
    );
    const plans = people.flatMap((person) => {
      const from = (mergeFrom.get(person) ?? []).flatMap((p) => {
        const d = docs.get(key(funnel.id, p));
        return d ? [d] : [];
      });
      if (!added.has(person) && !from.length) return [];
      return [planPerson(funnel, timezone, person, docs.get(key(funnel.id, person)), from, added.get(person) ?? [])];
    });
    const done = await writePlans(deps, funnel, plans);
    if (done.length) {
      const numbers = await personNumbers(deps.redis, base, [
        ...new Set(done.flatMap((p) => [p.person, ...p.from.map((d) => d._id.slice(funnel.id.length + 1))])),
      ]);
      const pipeline = deps.redis.pipeline();
      for (const p of done) {
        writeDays(pipeline, base, numbers.get(p.person)!, funnel.steps.length, p.before, p.set.days);
        for (const d of p.from) {
          const source = d._id.slice(funnel.id.length + 1);
          writeDays(pipeline, base, numbers.get(source)!, funnel.steps.length, d.days, {});
        }
      }
      await pipeline.exec();
      // the merged visitor ids' states go once their outcomes are off the bitmaps
      const gone = done.flatMap((p) => p.from);
      if (gone.length)
        await deps.models.FunnelPerson.bulkWrite(
          gone.map((d) => ({ deleteOne: { filter: { _id: d._id } } })),
          { ordered: false },
        );
    }
  }
}

const LOCK = `
local got = {}
for i, k in ipairs(KEYS) do
  if redis.call('SET', k, ARGV[1], 'NX', 'PX', ARGV[2]) then got[#got + 1] = i end
end
return got`;
const UNLOCK = `
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0`;
const lockKey = (base: string, person: string) => `${base}:lock:${person}`;

/**
 * Takes each person (with the visitor ids merging into them) for this job, in one round trip; a person another
 * job holds is left for the next pass. A lock left by a crashed worker expires after 60 s.
 */
async function lockPeople(
  redis: Redis,
  base: string,
  people: string[],
  mergeFrom: Map<string, string[]>,
  token: string,
): Promise<Set<string>> {
  const groups = people.map((p) => [p, ...(mergeFrom.get(p) ?? [])]);
  const keys = groups.flat().map((p) => lockKey(base, p));
  const got = new Set(((await redis.eval(LOCK, keys.length, ...keys, token, 60_000)) as number[]).map((i) => i - 1));
  const locked = new Set<string>();
  const release: string[] = [];
  let at = 0;
  for (const g of groups) {
    const all = g.every((_, i) => got.has(at + i));
    g.forEach((p, i) => {
      if (!all && got.has(at + i)) release.push(p);
    });
    if (all) locked.add(g[0]!);
    at += g.length;
  }
  await unlockPeople(redis, base, release, token);
  return locked;
}

async function unlockPeople(redis: Redis, base: string, people: string[], token: string): Promise<void> {
  if (!people.length) return;
  const keys = people.map((p) => lockKey(base, p));
  await redis.eval(UNLOCK, keys.length, ...keys, token);
}

interface Plan {
  person: string;
  doc: FunnelPersonDoc | undefined;
  from: FunnelPersonDoc[];
  before: FunnelPersonDoc['days'];
  set: Pick<FunnelPersonDoc, 'events' | 'days' | 'frozenBefore'>;
}

/** A person's new state: their events with the new ones (and a merged visitor id's), each day worked out again. */
function planPerson(
  funnel: LiveFunnel,
  timezone: string,
  person: string,
  doc: FunnelPersonDoc | undefined,
  from: FunnelPersonDoc[],
  added: FunnelPersonEvent[],
): Plan {
  const frozen = Math.max(doc?.frozenBefore ?? 0, ...from.map((d) => d.frozenBefore));
  const merged = mergeEvents(doc?.events ?? [], [...from.flatMap((d) => d.events), ...added], frozen);
  const recomputed = dayOutcomes(
    merged.events.map(asEvent),
    merged.frozenBefore,
    Number.POSITIVE_INFINITY,
    { steps: funnel.steps.length, windowMs: funnel.windowMs, order: funnel.order },
    timezone,
  );
  // days before the first event kept keep the outcome they had (the person's or the merged visitor id's)
  const after: FunnelPersonDoc['days'] = {};
  const firstKept = merged.frozenBefore ? localDay(merged.frozenBefore, timezone) : '';
  for (const d of [doc, ...from]) {
    for (const [day, o] of Object.entries(d?.days ?? {})) if (day < firstKept) after[day] ??= o;
  }
  Object.assign(after, recomputed);
  return {
    person,
    doc,
    from,
    before: doc?.days ?? {},
    set: { events: merged.events, days: after, frozenBefore: merged.frozenBefore },
  };
}

/**
 * Writes the plans in one unordered bulk write, each a whole document replaced by its `_id` alone (a filter
 * FerretDB answers from its primary key; the person is locked for this job, see lockPeople).
 */
async function writePlans(deps: ProgressDeps, funnel: LiveFunnel, plans: Plan[]): Promise<Plan[]> {
  if (!plans.length) return [];
  await deps.models.FunnelPerson.bulkWrite(
    plans.map((p) => ({
      replaceOne: {
        filter: { _id: key(funnel.id, p.person) },
        replacement: {
          _id: key(funnel.id, p.person),
          funnelId: new Types.ObjectId(funnel.id),
          ...p.set,
          n: (p.doc?.n ?? 0) + 1,
        },
        upsert: true,
      },
    })),
    { ordered: false, throwOnValidationError: true },
  );
  return plans;
}
