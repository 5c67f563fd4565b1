import type { Queue } from 'bullmq';
import { Types } from 'mongoose';
import type { EventDoc, Models, TriggerDoc } from '../models/index.js';
import { jobIdFor } from './job-ids.js';
import { matchesFilters } from './property-filters.js';

export interface FireJob {
  entryId: string;
}

/**
 * Enters the visitors of this job's events into the site's active triggers whose entry event and filters
 * match, and schedules each entry's end as a BullMQ delayed job (kept in Redis, so it survives restarts).
 * Idempotent: the entry's id and the job's id derive from (trigger, event), the re-entry guard from the visitor.
 */
export async function enterTriggers(models: Models, queue: Queue<FireJob>, events: EventDoc[]): Promise<void> {
  const bySite = new Map<string, EventDoc[]>();
  for (const e of events) {
    const list = bySite.get(e.siteId.toString()) ?? [];
    list.push(e);
    bySite.set(e.siteId.toString(), list);
  }
  for (const [siteId, siteEvents] of bySite) {
    const names = [...new Set(siteEvents.map((e) => e.name))];
    const triggers = (await models.Trigger.collection
      .find({ siteId: new Types.ObjectId(siteId), active: true, entryEvent: { $in: names } })
      .toArray()) as unknown as TriggerDoc[];
    if (!triggers.length) continue;
    for (const e of siteEvents) {
      for (const t of triggers) {
        if (t.entryEvent !== e.name || !matchesFilters(e.properties ?? {}, t.filters ?? [])) continue;
        await enter(models, queue, t, e);
      }
    }
  }
}

async function enter(models: Models, queue: Queue<FireJob>, t: TriggerDoc, e: EventDoc): Promise<void> {
  const visitor = e.profileId?.toString() ?? e.anonymousId;
  if (!visitor) return; // nobody to reach or to re-check
  const entryId = `${t._id}:${e.siteId}:${e.messageId}`;
  const enteredAt = new Date(e.timestamp);
  if (!(await claimReentry(models, t, visitor, entryId, enteredAt))) return;
  const fireAt = new Date(Math.max(Date.now(), enteredAt.getTime() + t.delaySeconds * 1000));
  await models.TriggerEntry.collection.updateOne(
    { _id: entryId } as never,
    {
      $setOnInsert: {
        siteId: e.siteId,
        triggerId: t._id,
        profileId: e.profileId ?? null,
        anonymousId: e.anonymousId ?? null,
        event: { messageId: e.messageId, name: e.name, timestamp: enteredAt, properties: e.properties ?? {} },
        enteredAt,
        fireAt,
        state: 'waiting',
        updatedAt: new Date(),
      },
    },
    { upsert: true },
  );
  await queue.add(
    'fire',
    { entryId },
    { jobId: jobIdFor('t', entryId), delay: Math.max(0, fireAt.getTime() - Date.now()) },
  );
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
    await models.TriggerVisitor.collection.updateOne(
      { _id, lastEnteredAt: { $lte: cutoff } } as never,
      { $set: { lastEnteredAt: at, lastEntry: entryId } },
      { upsert: true },
    );
    return true;
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    const doc = await models.TriggerVisitor.collection.findOne({ _id } as never);
    return (doc as { lastEntry?: string } | null)?.lastEntry === entryId;
  }
}
