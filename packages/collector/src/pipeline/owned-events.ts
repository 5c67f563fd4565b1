import type { Types } from 'mongoose';
import type { Models, NewEventDoc } from '../models/index.js';
import type { HookJob } from './store-events.js';

const key = (siteId: string | Types.ObjectId, messageId: string) => `${siteId.toString()}:${messageId}`;

/**
 * The stored events this ingest job is responsible for: those it inserted, in this attempt or in an earlier
 * one that crashed before its hooks finished (each event records its inserting job in `ingestJob`). An event
 * that another job inserted first (the same messageId sent twice) belongs to that job, so it counts once.
 * The earlier attempt's events are found by `(siteId, messageId)`, which FerretDB answers by scanning `events`:
 * it runs only for a job retried after a crash (events keep server-made ObjectIds, so ties in time keep the
 * order they were received in).
 */
export async function ownedEvents(models: Models, inserted: NewEventDoc[], job: HookJob): Promise<NewEventDoc[]> {
  const owned = new Map<string, NewEventDoc>();
  for (const doc of inserted) owned.set(key(doc.siteId, doc.messageId), doc);
  const bySite = new Map<string, string[]>();
  for (const e of job.stored) {
    if (owned.has(key(e.siteId, e.messageId))) continue;
    const ids = bySite.get(e.siteId) ?? [];
    ids.push(e.messageId);
    bySite.set(e.siteId, ids);
  }
  for (const [siteId, messageIds] of bySite) {
    const earlier = await models.Event.find({ siteId, messageId: { $in: messageIds } }).lean();
    for (const doc of earlier) {
      if (doc.ingestJob === job.key) owned.set(key(doc.siteId, doc.messageId), doc);
    }
  }
  return [...owned.values()];
}
