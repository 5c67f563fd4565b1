import type { StoredEvent } from '@trackmate/schema';
import type { QueryFilter } from 'mongoose';
import type { EventDoc, Models } from '../models/index.js';
import { decodeEventCursor, encodeEventCursor, eventView } from './event-view.js';

/**
 * One page of the events matching `filter`, newest first (by timestamp, then id), after `cursor` (the previous
 * page's `nextCursor`): the site's live events, or one person's timeline.
 */
export async function eventPage(
  models: Models,
  filter: QueryFilter<EventDoc>,
  limit: number,
  cursor?: string,
): Promise<{ events: StoredEvent[]; nextCursor: string | null }> {
  const query = { ...filter };
  if (cursor) {
    const after = decodeEventCursor(cursor);
    query.$or = [{ timestamp: { $lt: after.timestamp } }, { timestamp: after.timestamp, _id: { $lt: after.id } }];
  }
  const docs = await models.Event.find(query)
    .sort({ timestamp: -1, _id: -1 })
    .limit(limit + 1)
    .lean();
  const page = docs.slice(0, limit);
  return {
    events: page.map(eventView),
    nextCursor: docs.length > limit ? encodeEventCursor(page[page.length - 1]!) : null,
  };
}
