import type { Queue } from 'bullmq';
import type { Types } from 'mongoose';
import type { DeadLetterDoc, Models } from '../models/index.js';
import { jobIdFor, QUEUE_NAMES, type QueueName } from '../plugins/queues.js';
import type { UnstorablePayload } from './dead-letters.js';
import { type IngestJob, jobEvents, type QueuedEvent } from './queued-event.js';

/** The payload as it was queued, also when it was kept as JSON text. */
export function deadLetterPayload(doc: Pick<DeadLetterDoc, 'payload'>): unknown {
  const p = doc.payload as Partial<UnstorablePayload> | null;
  if (p && p.unstorable === true && typeof p.json === 'string') return JSON.parse(p.json);
  return doc.payload;
}

const isQueuedEvent = (v: unknown): v is QueuedEvent =>
  v !== null &&
  typeof v === 'object' &&
  typeof (v as QueuedEvent).messageId === 'string' &&
  typeof (v as QueuedEvent).siteId === 'string';

/** The events of a payload that is a whole ingest job, of either shape (queued-event.ts); none if it is not one. */
function eventsOfJob(payload: unknown): QueuedEvent[] {
  const job = payload as { events?: unknown; requests?: unknown } | null;
  if (!job || typeof job !== 'object') return [];
  if (Array.isArray(job.events)) return (job.events as unknown[]).filter(isQueuedEvent);
  if (!Array.isArray(job.requests) || !job.requests.every((r) => r && Array.isArray(r.events))) return [];
  return jobEvents(job as IngestJob).filter(isQueuedEvent);
}

export interface ReplayResult {
  /** Dead letters whose payload was queued again (and marked `replayedAt`). */
  replayed: number;
  /** Events among them queued for ingestion. */
  events: number;
  /** Dead letters with no payload that can be queued again. */
  skipped: number;
}

/**
 * Queues each dead letter's payload again — events into the ingest queue (duplicates are still ignored by
 * messageId), webhook deliveries and trigger actions into theirs — and marks the letters `replayedAt`. Used by
 * `trackmate-collector dead-letters replay` and `POST /api/dead-letters/:id/replay`.
 */
export async function replayDeadLetters(
  models: Models,
  queues: Record<QueueName, Pick<Queue, 'add'>>,
  docs: DeadLetterDoc[],
): Promise<ReplayResult> {
  const replayed: Types.ObjectId[] = [];
  let skipped = 0;
  const events: QueuedEvent[] = [];
  const stamp = Date.now();
  for (const d of docs) {
    const payload = deadLetterPayload(d);
    if (d.queue === QUEUE_NAMES.ingest) {
      const list = isQueuedEvent(payload) ? [payload] : eventsOfJob(payload);
      if (!list.length) skipped++;
      else {
        events.push(...list);
        replayed.push(d._id);
      }
    } else if (d.queue === QUEUE_NAMES.webhooks && payload && typeof payload === 'object' && 'deliveryId' in payload) {
      await queues.webhooks.add('deliver', payload, {
        jobId: jobIdFor('w', `${String(payload.deliveryId)}:replay:${stamp}`),
      });
      replayed.push(d._id);
    } else if (d.queue === QUEUE_NAMES.triggers && payload && typeof payload === 'object' && 'entryId' in payload) {
      const entryId = String(payload.entryId);
      await models.TriggerEntry.updateOne({ _id: entryId }, { $set: { state: 'waiting', updatedAt: new Date() } });
      await queues.triggers.add('fire', { entryId }, { jobId: jobIdFor('t', `${entryId}:replay:${stamp}`) });
      replayed.push(d._id);
    } else skipped++;
  }
  for (let i = 0; i < events.length; i += 500) {
    await queues.ingest.add('events', { events: events.slice(i, i + 500) } satisfies IngestJob);
  }
  if (replayed.length) {
    await models.DeadLetter.updateMany({ _id: { $in: replayed } }, { $set: { replayedAt: new Date() } });
  }
  return { replayed: replayed.length, events: events.length, skipped };
}
