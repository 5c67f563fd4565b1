import type { Types } from 'mongoose';
import type { Models, NewEventDoc } from '../models/index.js';
import type { HookJob } from './store-events.js';

const key = (siteId: string | Types.ObjectId, messageId: string) => `${siteId.toString()}:${messageId}`;

/** One job's part of the events a hook runs for. */
export interface OwnedPart {
  /** The job's key (the events' `ingestJob`). */
  key: string;
  events: NewEventDoc[];
  /** Every one of them inserted by this attempt: no earlier attempt of the job can have counted any. */
  fresh: boolean;
}

/**
 * The stored events each ingest job of a hook's call is responsible for: those it inserted, in this attempt or in
 * an earlier one that crashed before its hooks finished (each event records its inserting job in `ingestJob`).
 * An event that another job inserted first (the same messageId sent twice) belongs to that job, so it counts once.
 * The earlier attempt's events are found by `(siteId, messageId)`, which FerretDB answers by scanning `events`:
 * it runs only for a job retried after a crash or sent twice (events keep server-made ObjectIds, so ties in
 * time keep the order they were received in). One part per job, in the jobs' order.
 */
export async function ownedParts(models: Models, inserted: NewEventDoc[], job: HookJob): Promise<OwnedPart[]> {
  const jobs = [{ key: job.key, stored: job.stored }, ...(job.batch ?? [])];
  const parts = new Map<string, { owned: Map<string, NewEventDoc>; inserted: number }>();
  for (const j of jobs) parts.set(j.key, { owned: new Map(), inserted: 0 });
  const only = jobs.length === 1 ? parts.get(job.key)! : undefined;
  for (const doc of inserted) {
    const part = only ?? parts.get(doc.ingestJob ?? '');
    if (!part) continue;
    part.owned.set(key(doc.siteId, doc.messageId), doc);
    part.inserted++;
  }
  const bySite = new Map<string, string[]>();
  for (const j of jobs) {
    const { owned } = parts.get(j.key)!;
    for (const e of j.stored) {
      if (owned.has(key(e.siteId, e.messageId))) continue;
      const ids = bySite.get(e.siteId) ?? [];
      ids.push(e.messageId);
      bySite.set(e.siteId, ids);
    }
  }
  for (const [siteId, messageIds] of bySite) {
    const earlier = await models.Event.find({ siteId, messageId: { $in: messageIds } }).lean();
    for (const doc of earlier) parts.get(doc.ingestJob ?? '')?.owned.set(key(doc.siteId, doc.messageId), doc);
  }
  return jobs.map((j) => {
    const { owned, inserted: fresh } = parts.get(j.key)!;
    return { key: j.key, events: [...owned.values()], fresh: owned.size === fresh };
  });
}
