import type { Types } from 'mongoose';
import { eventObjectId, findEachById, type Models, type NewEventDoc } from '../models/index.js';
import type { HookJob } from './store-events.js';

const key = (siteId: string | Types.ObjectId, messageId: string) => `${siteId.toString()}:${messageId}`;

/**
 * The stored events this ingest job is responsible for: those it inserted, in this attempt or in an earlier
 * one that crashed before its hooks finished (each event records its inserting job in `ingestJob`). An event
 * that another job inserted first (the same messageId sent twice) belongs to that job, so it counts once.
 * The earlier attempt's events are found by their `_id` (eventObjectId gives a retry the same ids), one point
 * lookup each: a lookup by `(siteId, messageId)` would read the whole collection on FerretDB.
 */
export async function ownedEvents(models: Models, inserted: NewEventDoc[], job: HookJob): Promise<NewEventDoc[]> {
  const owned = new Map<string, NewEventDoc>();
  for (const doc of inserted) owned.set(key(doc.siteId, doc.messageId), doc);
  const others = job.stored.filter((e) => !owned.has(key(e.siteId, e.messageId)));
  const earlier = await findEachById(others, (e) =>
    models.Event.findById(eventObjectId(e.siteId, e.messageId, new Date(e.receivedAt))).lean(),
  );
  for (const doc of earlier) {
    if (doc.ingestJob === job.key) owned.set(key(doc.siteId, doc.messageId), doc);
  }
  return [...owned.values()];
}
