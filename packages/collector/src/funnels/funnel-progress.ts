import type { FunnelOrder, FunnelStepDefinition } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { localDay } from '../analytics/index.js';
import type { FunnelDoc, FunnelPersonDoc, FunnelPersonEvent, Models } from '../models/index.js';
import { isDuplicateKey } from '../models/index.js';
import { dayOutcomes, type FunnelDims, type FunnelEvent, windowMs } from './funnel-match.js';
import { funnelBase, personNumbers, writeDays } from './funnel-state.js';

/** A person keeps at most this many funnel events; older days keep the outcome they had. */
export const PERSON_EVENTS_CAP = 1_000;

/** A saved funnel ready to be kept current. */
export interface LiveFunnel {
  id: string;
  siteId: string;
  steps: FunnelStepDefinition[];
  windowMs: number;
  order: FunnelOrder;
}

export const liveFunnel = (f: Pick<FunnelDoc, '_id' | 'siteId' | 'steps' | 'window' | 'order'>): LiveFunnel => ({
  id: f._id.toHexString(),
  siteId: f.siteId.toHexString(),
  steps: f.steps,
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
 * `merges` fold a visitor id's state into its profile's (identify joined them). Writes are optimistic (a version
 * per person): a person changed meanwhile by another job is read again and retried, so concurrent jobs and
 * retried ones leave the same state.
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
  for (const m of merges) if (m.from !== m.into) mergeFrom.set(m.into, [...(mergeFrom.get(m.into) ?? []), m.from]);
  const people = [...new Set([...added.keys(), ...mergeFrom.keys()])];
  const base = funnelBase(deps.prefix, funnel.siteId, funnel.id);
  for (let attempt = 0; people.length && attempt < 10; attempt++) {
    const sources = people.flatMap((p) => mergeFrom.get(p) ?? []);
    const ids = [...people, ...sources].map((p) => key(funnel.id, p));
    const docs = new Map(
      (await deps.models.FunnelPerson.find({ _id: { $in: ids } }).lean()).map((d) => [d._id, d] as const),
    );
    const numbers = await personNumbers(deps.redis, base, [...people, ...sources]);
    const retry: string[] = [];
    for (const person of people) {
      const doc = docs.get(key(funnel.id, person));
      const from = (mergeFrom.get(person) ?? []).flatMap((p) => {
        const d = docs.get(key(funnel.id, p));
        return d ? [d] : [];
      });
      if (!added.has(person) && !from.length) continue;
      const ok = await applyPerson(deps, funnel, timezone, base, person, doc, from, added.get(person) ?? [], numbers);
      if (!ok) retry.push(person);
    }
    people.splice(0, people.length, ...retry);
  }
  if (people.length) throw new Error(`funnel ${funnel.id}: people changed by other jobs 10 times in a row`);
}

async function applyPerson(
  deps: ProgressDeps,
  funnel: LiveFunnel,
  timezone: string,
  base: string,
  person: string,
  doc: FunnelPersonDoc | undefined,
  from: FunnelPersonDoc[],
  added: FunnelPersonEvent[],
  numbers: Map<string, number>,
): Promise<boolean> {
  const before = doc?.days ?? {};
  const frozen = Math.max(doc?.frozenBefore ?? 0, ...from.map((d) => d.frozenBefore));
  const merged = mergeEvents(doc?.events ?? [], [...from.flatMap((d) => d.events), ...added], frozen);
  const recomputed = dayOutcomes(
    merged.events.map(asEvent),
    merged.frozenBefore,
    Number.POSITIVE_INFINITY,
    {
      steps: funnel.steps.length,
      windowMs: funnel.windowMs,
      order: funnel.order,
    },
    timezone,
  );
  // days before the first event kept keep the outcome they had (the person's or the merged visitor id's)
  const after: FunnelPersonDoc['days'] = {};
  for (const d of [doc, ...from]) {
    for (const [day, o] of Object.entries(d?.days ?? {})) {
      if (day < (merged.frozenBefore ? localDay(merged.frozenBefore, timezone) : '')) after[day] ??= o;
    }
  }
  Object.assign(after, recomputed);
  const set = { events: merged.events, days: after, frozenBefore: merged.frozenBefore };
  const _id = key(funnel.id, person);
  if (doc) {
    const res = await deps.models.FunnelPerson.updateOne({ _id, n: doc.n }, { $set: set, $inc: { n: 1 } });
    if (!res.matchedCount) return false;
  } else {
    try {
      await deps.models.FunnelPerson.create({ _id, funnelId: new Types.ObjectId(funnel.id), ...set, n: 1 });
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }
  const pipeline = deps.redis.pipeline();
  writeDays(pipeline, base, numbers.get(person)!, funnel.steps.length, before, after);
  for (const d of from) {
    const source = d._id.slice(funnel.id.length + 1);
    writeDays(pipeline, base, numbers.get(source)!, funnel.steps.length, d.days, {});
  }
  await pipeline.exec();
  // the merged visitor ids' states go once their outcomes are off the bitmaps
  for (const d of from) await deps.models.FunnelPerson.deleteOne({ _id: d._id, n: d.n });
  return true;
}
