import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loggable } from '../errors.js';
import {
  bulkWriteInSlices,
  duplicateIndexes,
  findEachById,
  groupedInsert,
  ignoreDuplicates,
  type Models,
  type NewEventDoc,
  type TriggerDoc,
  type TriggerEntryDoc,
} from '../models/index.js';
import { startHourly } from '../plugins/hourly.js';
import { jobIdFor } from '../plugins/queues.js';
import { withRedisLocks } from '../plugins/redis.js';
import { type RedisCopy, redisCopy } from '../plugins/redis-copy.js';
import { matchesFilters } from './property-filters.js';

export interface FireJob {
  entryId: string;
  /** The flow step to act on (absent: the first). */
  step?: number;
}

/** The active triggers of each site (site id → triggers); the workers cache them (SiteConfigCache). */
export type ActiveTriggers = (siteIds: string[]) => Promise<Map<string, TriggerDoc[]>>;

/** Active triggers straight from the database, one query for all the sites. */
export const loadActiveTriggers =
  (models: Models): ActiveTriggers =>
  async (siteIds) => {
    const out = new Map<string, TriggerDoc[]>();
    for (const t of await models.Trigger.find({ siteId: { $in: siteIds }, active: true }).lean()) {
      const id = t.siteId.toHexString();
      out.set(id, [...(out.get(id) ?? []), t]);
    }
    return out;
  };

interface Candidate {
  entryId: string;
  trigger: TriggerDoc;
  doc: Omit<TriggerEntryDoc, '_id'>;
  enteredAt: Date;
  /** When the collector received the event: the re-entry guard's clock (a client cannot set it). */
  receivedAt: Date;
  delay: number;
  /** Re-entry guard keys: one per id the visitor is known by (visitor id and, once identified, profile). */
  guards: string[];
}

/**
 * Enters the visitors of this job's events into the site's active triggers whose entry event and filters
 * match, and schedules each entry's end as a BullMQ delayed job (kept in Redis, so it survives restarts).
 * Idempotent: the entry's id and the job's id derive from (trigger, event), the re-entry guard from the
 * visitor. A fixed number of round trips per job: the sites' active triggers (cached by the workers), one claim
 * of the re-entry guards (reads and writes by `_id` under Redis locks), one insert of the entries and one addBulk.
 */
export async function enterTriggers(
  models: Models,
  queue: Pick<Queue<FireJob>, 'addBulk'>,
  guards: ReentryGuards | undefined,
  events: NewEventDoc[],
  activeTriggers: ActiveTriggers = loadActiveTriggers(models),
): Promise<void> {
  const bySite = new Map<string, NewEventDoc[]>();
  for (const e of events) {
    const list = bySite.get(e.siteId.toString()) ?? [];
    list.push(e);
    bySite.set(e.siteId.toString(), list);
  }
  const candidates: Candidate[] = [];
  const bySiteTriggers = await activeTriggers([...bySite.keys()]);
  for (const [siteId, siteEvents] of bySite) {
    const triggers = bySiteTriggers.get(siteId) ?? [];
    if (!triggers.length) continue;
    for (const e of siteEvents) {
      for (const t of triggers) {
        if (t.entryEvent !== e.name || !matchesFilters(e.properties ?? {}, t.filters ?? [])) continue;
        const candidate = candidateFor(t, e);
        if (candidate) candidates.push(candidate);
      }
    }
  }
  const entries = await claimReentry(models, guards, candidates);
  if (!entries.length) return;
  // insert-if-absent: a retried job finds its entries there already (duplicate ids are ignored)
  await groupedInsert(models.TriggerEntry)(entries.map(({ entryId, doc }) => ({ _id: entryId, ...doc }))).catch(
    ignoreDuplicates,
  );
  await queue.addBulk(
    entries.map(({ entryId, delay }) => ({
      name: 'fire',
      data: { entryId },
      opts: { jobId: jobIdFor('t', entryId), delay },
    })),
  );
}

/**
 * How far before its arrival an event's own time counts for a trigger: a client sets `timestamp`, so an entry
 * event dated years back would otherwise skip the trigger's delay. Older times enter as this long ago.
 */
export const MAX_ENTRY_BACKDATE_MS = 24 * 3_600_000;

function candidateFor(t: TriggerDoc, e: NewEventDoc): Candidate | null {
  const ids = [e.anonymousId, e.profileId?.toString()].filter((id): id is string => Boolean(id));
  if (!ids.length) return null; // nobody to reach or to re-check
  const entryId = `${t._id}:${e.siteId}:${e.messageId}`;
  const receivedAt = new Date(e.receivedAt);
  const received = receivedAt.getTime();
  const enteredAt = new Date(
    Math.min(received, Math.max(new Date(e.timestamp).getTime(), received - MAX_ENTRY_BACKDATE_MS)),
  );
  const fireAt = new Date(Math.max(Date.now(), enteredAt.getTime() + t.delaySeconds * 1000));
  const doc = {
    siteId: e.siteId,
    triggerId: t._id,
    profileId: e.profileId ?? null,
    anonymousId: e.anonymousId ?? null,
    event: { messageId: e.messageId, name: e.name, timestamp: enteredAt, properties: e.properties ?? {} },
    enteredAt,
    fireAt,
    state: 'waiting' as const,
    updatedAt: new Date(),
  };
  const guards = t.reentryHours > 0 ? ids.map((id) => `${t._id}:${id}`) : [];
  return { entryId, trigger: t, doc, enteredAt, receivedAt, delay: Math.max(0, fireAt.getTime() - Date.now()), guards };
}

/**
 * The Redis whose locks make each claim of re-entry guards atomic across jobs and processes, and which keeps a
 * copy of the guards per trigger (`trig-guards:<trigger id>`, visitor or profile id → time and entry): once it
 * is complete (plugins/redis-copy.ts; copyGuards makes it), a visitor it has no guard for is not looked up in
 * `trigger_visitors`. A guard it has is, so a guard deleted there (an erasure, an operator) is gone for the claim.
 */
export interface ReentryGuards {
  redis: Pick<Redis, 'set' | 'eval' | 'pipeline' | 'get' | 'unlink' | 'mget'>;
  prefix: string;
}

const guardLockKey = (prefix: string, guard: string) => `${prefix}:trig-guard-lock:${guard}`;

export const guardCopy = (guards: ReentryGuards): RedisCopy => redisCopy(guards.redis, guards.prefix, 'trig-guards');

/** A guard's `_id` (`<trigger id>:<visitor or profile id>`) as a copy's partition and field. */
const splitGuard = (id: string) => {
  const sep = id.indexOf(':');
  return [id.slice(0, sep), id.slice(sep + 1)] as const;
};

const guardValue = (at: Date, entry: string) => `${at.getTime()}|${entry}`;

/**
 * Copies the re-entry guards of every active trigger with a re-entry window whose copy is not complete: one read of
 * its guards each (a scan of `trigger_visitors` on FerretDB). One process at a time (the worker's keeper lock,
 * which a site's deletion holds too). Returns the number of triggers copied.
 */
export async function copyGuards(
  models: Pick<Models, 'Trigger' | 'TriggerVisitor'>,
  guards: ReentryGuards,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<number> {
  const triggers = (await models.Trigger.find({ active: true, reentryHours: { $gt: 0 } }, { _id: 1 }).lean()).map((t) =>
    t._id.toHexString(),
  );
  const { partitions } = await guardCopy(guards).copyIncomplete(
    triggers,
    async function* (triggerId) {
      const docs = models.TriggerVisitor.find({ _id: { $regex: `^${triggerId}:` } })
        .lean()
        .cursor({ batchSize: 5_000 });
      for await (const g of docs) yield [splitGuard(g._id)[1], guardValue(g.lastEnteredAt, g.lastEntry)];
    },
    keepLock,
  );
  return partitions;
}

/**
 * Guards deleted per round of pruneGuards, under their locks: few enough that their reads and deletes end well
 * within the locks' 30 s even when each write waits tens of milliseconds behind a sale day's.
 */
const PRUNE_SLICE = 100;

/**
 * Deletes the re-entry guards that decide nothing any more: entered longer ago than their trigger's window
 * (`reentryHours`), so the visitor may enter again whether the guard is there or not — without this,
 * `trigger_visitors` holds one document per visitor and trigger for ever. One read of each such trigger's
 * expired guards (a scan of `trigger_visitors` on FerretDB, as copyGuards'), then, a slice at a time under the
 * guards' locks, each guard read again and deleted by `_id` if still expired: a claim that renewed it meanwhile
 * keeps it. A trigger whose guards were deleted has its Redis copy dropped; the keeper copies it again. A window
 * raised later does not bring back guards deleted under the shorter one. Returns the number deleted.
 */
export async function pruneGuards(
  models: Pick<Models, 'Trigger' | 'TriggerVisitor'>,
  guards: ReentryGuards,
  now = Date.now(),
): Promise<number> {
  const triggers = await models.Trigger.find({ reentryHours: { $gt: 0 } }, { _id: 1, reentryHours: 1 }).lean();
  let pruned = 0;
  for (const t of triggers) {
    const triggerId = t._id.toHexString();
    const cutoff = now - t.reentryHours * 3_600_000;
    const expired = (
      await models.TriggerVisitor.find(
        { _id: { $regex: `^${triggerId}:` }, lastEnteredAt: { $lte: new Date(cutoff) } },
        { _id: 1 },
      ).lean()
    ).map((g) => g._id);
    let deleted = 0;
    for (let i = 0; i < expired.length; i += PRUNE_SLICE) {
      const slice = expired.slice(i, i + PRUNE_SLICE);
      deleted += await withRedisLocks(
        guards.redis,
        slice.map((id) => guardLockKey(guards.prefix, id)),
        async () => {
          const still = (
            await findEachById(slice, (id) => models.TriggerVisitor.findById(id, { lastEnteredAt: 1 }).lean())
          ).filter((g) => g.lastEnteredAt.getTime() <= cutoff);
          for (const g of still) await models.TriggerVisitor.deleteOne({ _id: g._id });
          return still.length;
        },
        { what: 're-entry guards' },
      );
    }
    if (deleted) await guardCopy(guards).invalidate([triggerId]);
    pruned += deleted;
  }
  return pruned;
}

/** Runs pruneGuards 5 minutes after start, then hourly (idempotent: workers on several machines may all run it). */
export function startGuardPruning(
  models: Pick<Models, 'Trigger' | 'TriggerVisitor'>,
  guards: ReentryGuards,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
): { stop(): Promise<void> } {
  return startHourly(
    () =>
      pruneGuards(models, guards)
        .then((deleted) => {
          if (deleted) log.info({ deleted }, 're-entry guards past their window deleted');
        })
        .catch((err) => log.warn({ err: loggable(err) }, 're-entry guard pruning failed; retrying in an hour')),
    { firstMs: 300_000 },
  );
}

/**
 * At most one entry per visitor per `reentryHours`, by every id the visitor is known by: a visitor who entered
 * anonymously and is identified since does not enter again under their profile id. The window runs on the
 * collector's clock (`receivedAt`), never on the event's own time: entry events back-dated two days apart would
 * each pass a guard that trusted it. Holding a Redis lock on each guard the job claims, the guards are read by
 * `_id`, decided here in the job's order, and the claimed ones written: a first guard inserted, a held one
 * updated by `_id` (docs/production.md says what each costs on FerretDB). An entry goes ahead only where every
 * guard is free, older than its window, or already names it (so a retried job goes ahead again).
 */
async function claimReentry(
  models: Models,
  guards: ReentryGuards | undefined,
  candidates: Candidate[],
): Promise<Candidate[]> {
  const claiming = candidates.filter((c) => c.guards.length);
  if (!claiming.length) return candidates;
  if (!guards) throw new Error('triggers with a re-entry window need the Redis of their locks');
  const ids = [...new Set(claiming.flatMap((c) => c.guards))];
  return withRedisLocks(
    guards.redis,
    ids.map((id) => guardLockKey(guards.prefix, id)),
    async () => {
      const held = new Map<string, { at: number; entry: string }>();
      const copy = guardCopy(guards);
      const asked = new Map<string, string[]>();
      for (const id of ids) {
        const [triggerId, visitor] = splitGuard(id);
        const list = asked.get(triggerId);
        if (list) list.push(visitor);
        else asked.set(triggerId, [visitor]);
      }
      // the copy is trusted where it says a visitor never entered (most visitors, most of the time); a guard it
      // holds is read from `trigger_visitors`, which decides (a guard deleted there is gone)
      const neverEntered = new Set<string>();
      for (const [triggerId, values] of await copy.read(asked))
        for (const [visitor, value] of values) if (value === null) neverEntered.add(`${triggerId}:${visitor}`);
      for (const g of await findEachById(
        ids.filter((id) => !neverEntered.has(id)),
        (id) => models.TriggerVisitor.findById(id, { lastEnteredAt: 1, lastEntry: 1 }).lean(),
      )) {
        held.set(g._id, { at: g.lastEnteredAt.getTime(), entry: g.lastEntry });
      }
      const refused = new Set<Candidate>();
      const writes = new Map<string, { at: Date; entry: string }>();
      for (const c of claiming) {
        const cutoff = c.receivedAt.getTime() - c.trigger.reentryHours * 3_600_000;
        const free = c.guards.every((g) => {
          const h = held.get(g);
          return !h || h.at <= cutoff || h.entry === c.entryId;
        });
        if (!free) {
          refused.add(c);
          continue;
        }
        for (const g of c.guards) {
          held.set(g, { at: c.receivedAt.getTime(), entry: c.entryId });
          writes.set(g, { at: c.receivedAt, entry: c.entryId });
        }
      }
      if (writes.size) {
        // a first guard is inserted (an update by `_id` is a scan of `trigger_visitors` on FerretDB, an insert is
        // not, and it is grouped with the other jobs' inserts); one the copy did not know of after all (a job
        // retried after writing it, before copying it) is overwritten, as any held guard is
        const all = [...writes].map(([_id, { at, entry }]) => ({ _id, lastEnteredAt: at, lastEntry: entry }));
        const first = all.filter((g) => neverEntered.has(g._id));
        const update = all.filter((g) => !neverEntered.has(g._id));
        await groupedInsert(models.TriggerVisitor)(first).catch((err: unknown) => {
          for (const i of duplicateIndexes(err)) update.push(first[i]!);
        });
        if (update.length) {
          await bulkWriteInSlices(
            models.TriggerVisitor,
            update.map(({ _id, lastEnteredAt, lastEntry }) => ({
              updateOne: { filter: { _id }, update: { $set: { lastEnteredAt, lastEntry } }, upsert: true },
            })),
            { ordered: false },
          );
        }
        // then the copy, still under the guards' locks
        const values = new Map<string, Array<[string, string]>>();
        for (const [id, { at, entry }] of writes) {
          const [triggerId, visitor] = splitGuard(id);
          const list = values.get(triggerId);
          if (list) list.push([visitor, guardValue(at, entry)]);
          else values.set(triggerId, [[visitor, guardValue(at, entry)]]);
        }
        await copy.write(values);
      }
      return candidates.filter((c) => !refused.has(c));
    },
    { what: 're-entry guards' },
  );
}
