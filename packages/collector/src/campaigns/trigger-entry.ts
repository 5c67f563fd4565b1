import type { Queue } from 'bullmq';
import { ignoreDuplicates, isDuplicateKey, type Models, type NewEventDoc, type TriggerDoc } from '../models/index.js';
import { jobIdFor } from '../plugins/queues.js';
import { matchesFilters } from './property-filters.js';

export interface FireJob {
  entryId: string;
}

/**
 * Enters the visitors of this job's events into the site's active triggers whose entry event and filters
 * match, and schedules each entry's end as a BullMQ delayed job (kept in Redis, so it survives restarts).
 * Idempotent: the entry's id and the job's id derive from (trigger, event), the re-entry guard from the visitor.
 */
export async function enterTriggers(
  models: Models,
  queue: Pick<Queue<FireJob>, 'addBulk'>,
  events: NewEventDoc[],
): Promise<void> {
  const bySite = new Map<string, NewEventDoc[]>();
  for (const e of events) {
    const list = bySite.get(e.siteId.toString()) ?? [];
    list.push(e);
    bySite.set(e.siteId.toString(), list);
  }
  const entries: Array<{ entryId: string; doc: Record<string, unknown>; delay: number }> = [];
  for (const [siteId, siteEvents] of bySite) {
    const names = [...new Set(siteEvents.map((e) => e.name))];
    const triggers = await models.Trigger.find({ siteId, active: true, entryEvent: { $in: names } }).lean<
      TriggerDoc[]
    >();
    if (!triggers.length) continue;
    for (const e of siteEvents) {
      for (const t of triggers) {
        if (t.entryEvent !== e.name || !matchesFilters(e.properties ?? {}, t.filters ?? [])) continue;
        const entry = await entryFor(models, t, e);
        if (entry) entries.push(entry);
      }
    }
  }
  if (!entries.length) return;
  // insert-if-absent: a retried job finds its entries there already (duplicate ids are ignored)
  await models.TriggerEntry.insertMany(
    entries.map(({ entryId, doc }) => ({ _id: entryId, ...doc })),
    { ordered: false, lean: true },
  ).catch(ignoreDuplicates);
  await queue.addBulk(
    entries.map(({ entryId, delay }) => ({
      name: 'fire',
      data: { entryId },
      opts: { jobId: jobIdFor('t', entryId), delay },
    })),
  );
}

async function entryFor(models: Models, t: TriggerDoc, e: NewEventDoc) {
  const visitor = e.profileId?.toString() ?? e.anonymousId;
  if (!visitor) return null; // nobody to reach or to re-check
  const entryId = `${t._id}:${e.siteId}:${e.messageId}`;
  const enteredAt = new Date(e.timestamp);
  if (!(await claimReentry(models, t, visitor, entryId, enteredAt))) return null;
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
  return { entryId, doc, delay: Math.max(0, fireAt.getTime() - Date.now()) };
}

/** At most one entry per visitor per `reentryHours`; the same entry (a retried job) is let through again. */
async function claimReentry(
  models: Models,
  t: TriggerDoc,
  visitor: string,
  entryId: string,
  at: Date,
): Promise<boolean> {
  if (!(t.reentryHours > 0)) return true;
  const _id = `${t._id}:${visitor}`;
  const cutoff = new Date(at.getTime() - t.reentryHours * 3_600_000);
  try {
    await models.TriggerVisitor.updateOne(
      { _id, lastEnteredAt: { $lte: cutoff } },
      { $set: { lastEnteredAt: at, lastEntry: entryId } },
      { upsert: true },
    );
    return true;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const doc = await models.TriggerVisitor.findById(_id, { lastEntry: 1 }).lean();
    return doc?.lastEntry === entryId;
  }
}
