import { randomUUID } from 'node:crypto';
import type { FunnelOrder, FunnelStepDefinition } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { localDay } from '../analytics/index.js';
import type { FunnelDoc, FunnelPersonDoc, FunnelPersonEvent, Models } from '../models/index.js';
import { isDuplicateKey, writeErrorsOf } from '../models/index.js';
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
          gone.map((d) => ({ deleteOne: { filter: { _id: d._id, n: d.n } } })),
          { ordered: false },
        );
    }
    const ok = new Set(done.map((p) => p.person));
    people.splice(0, people.length, ...plans.filter((p) => !ok.has(p.person)).map((p) => p.person));
  }
  if (people.length) throw new Error(`funnel ${funnel.id}: people changed by other jobs 10 times in a row`);
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
 * Writes the plans in one unordered bulk write, each conditional on the version it was read at and marked with
 * this write's token (`w`, the one before in `pw`); one read then tells which took (another job may have written
 * a person meanwhile: that person is planned again). Returns the plans written.
 */
async function writePlans(deps: ProgressDeps, funnel: LiveFunnel, plans: Plan[]): Promise<Plan[]> {
  if (!plans.length) return [];
  const token = randomUUID();
  const ops = plans.map((p) => {
    const _id = key(funnel.id, p.person);
    return p.doc
      ? {
          updateOne: {
            filter: { _id, n: p.doc.n },
            update: { $set: { ...p.set, w: token, pw: p.doc.w ?? '' }, $inc: { n: 1 } },
          },
        }
      : {
          insertOne: {
            document: { _id, funnelId: new Types.ObjectId(funnel.id), ...p.set, n: 1, w: token, pw: '' },
          },
        };
  });
  try {
    await deps.models.FunnelPerson.bulkWrite(ops as never, { ordered: false });
  } catch (err) {
    // a person inserted by another job meanwhile: planned again below; anything else is the job's failure
    const errors = writeErrorsOf(err) ?? [];
    if (!errors.length || errors.some((e) => !isDuplicateKey(e))) throw err;
  }
  const now = await deps.models.FunnelPerson.find(
    { _id: { $in: plans.map((p) => key(funnel.id, p.person)) } },
    { n: 1, w: 1, pw: 1 },
  ).lean();
  const state = new Map(now.map((d) => [d._id, d]));
  return plans.filter((p) => {
    const d = state.get(key(funnel.id, p.person));
    const expected = (p.doc?.n ?? 0) + 1;
    return d !== undefined && (d.w === token || (d.n === expected + 1 && d.pw === token));
  });
}
