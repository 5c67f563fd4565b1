import type { Queue } from 'bullmq';
import { jobsAtRest } from '../plugins/jobs-at-rest.js';
import type { PersonIds } from '../profiles/index.js';
import { type IngestJob, jobEvents, type QueuedEvent } from './queued-event.js';

const names = (ids: PersonIds) => {
  const anonymous = new Set(ids.anonymousIds);
  return (e: QueuedEvent) =>
    e.siteId === ids.siteId &&
    ((e.anonymousId !== null && anonymous.has(e.anonymousId)) ||
      e.profileId === ids.profileId ||
      (ids.email !== undefined && e.profile?.email === ids.email) ||
      (ids.userId !== undefined && e.profile?.userId === ids.userId));
};

/**
 * Erasure of what Redis still holds about a person: their events are taken out of ingest jobs at rest
 * (waiting, delayed, failed; a job left empty is removed), and webhook deliveries whose body names them are
 * removed. Returns how many events and deliveries were dropped.
 */
export async function eraseQueued(
  queues: { ingest: Queue; webhooks: Queue },
  ids: PersonIds,
): Promise<{ events: number; deliveries: number }> {
  const isTheirs = names(ids);
  let events = 0;
  for await (const job of jobsAtRest<IngestJob>(queues.ingest)) {
    const all = job.data ? jobEvents(job.data) : [];
    const keep = all.filter((e) => !isTheirs(e));
    if (keep.length === all.length) continue;
    events += all.length - keep.length;
    // rewritten with each event whole (a shape the worker reads too)
    if (keep.length) await job.updateData({ events: keep });
    else await job.remove().catch(() => {}); // taken by a worker meanwhile: suppression drops it
  }
  const needles = [ids.profileId, ids.email, ids.userId, ...ids.anonymousIds]
    .filter((s): s is string => s !== undefined)
    .map((s) => JSON.stringify(s));
  let deliveries = 0;
  for await (const job of jobsAtRest<{ siteId: string; body: string }>(queues.webhooks)) {
    if (job.data?.siteId !== ids.siteId || !needles.some((n) => job.data.body.includes(n))) continue;
    await job.remove().catch(() => {});
    deliveries++;
  }
  return { events, deliveries };
}
