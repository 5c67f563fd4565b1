import type { StoredEvent } from '@trackmate/schema';
import type { QueryFilter, Types } from 'mongoose';
import type { EventDoc, Models } from '../models/index.js';
import { decodeEventCursor, encodeEventCursor, eventView } from './event-view.js';

/** Which events a page lists: a site's, or one person's of it; of one name or all. */
export interface EventSelection {
  siteId: Types.ObjectId;
  profileId?: Types.ObjectId;
  name?: string;
}

/**
 * One page of the selected events, newest first (by timestamp, then id), after `cursor` (the previous page's
 * `nextCursor`): the site's live events, or one person's timeline.
 */
export async function eventPage(
  { Event }: Pick<Models, 'Event'>,
  { siteId, profileId, name }: EventSelection,
  limit: number,
  cursor?: string,
): Promise<{ events: StoredEvent[]; nextCursor: string | null }> {
  const query: QueryFilter<EventDoc> = { siteId };
  if (profileId) query.profileId = profileId;
  if (name !== undefined) query.name = name;
  if (cursor) {
    const after = decodeEventCursor(cursor);
    query.$or = [{ timestamp: { $lt: after.timestamp } }, { timestamp: after.timestamp, _id: { $lt: after.id } }];
  }
  const docs = await Event.find(query)
    .sort({ timestamp: -1, _id: -1 })
    .limit(limit + 1)
    .lean();
  const page = docs.slice(0, limit);
  return {
    events: page.map(eventView),
    nextCursor: docs.length > limit ? encodeEventCursor(page[page.length - 1]!) : null,
  };
}
