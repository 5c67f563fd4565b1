import type { StoredEvent } from '@trackmate/schema';
import { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import { type EventDoc, sentByOf } from '../models/index.js';

/** The API form of a stored event. */
export function eventView(doc: EventDoc): StoredEvent {
  const view: StoredEvent = {
    id: doc._id.toHexString(),
    messageId: doc.messageId,
    name: doc.name,
    timestamp: doc.timestamp.toISOString(),
    receivedAt: doc.receivedAt.toISOString(),
    profileId: doc.profileId ? doc.profileId.toHexString() : null,
    anonymousId: doc.anonymousId ?? null,
    sessionId: doc.sessionId ?? null,
    source: sentByOf(doc),
    properties: doc.properties ?? {},
    userAgent: doc.userAgent ?? null,
    ip: doc.ip ?? null,
  };
  if (doc.context) view.context = doc.context;
  if (doc.flags?.length) view.flags = doc.flags;
  return view;
}

/** Event-page cursors: the (timestamp, _id) of the last event of a page, opaque to callers. */
export function encodeEventCursor(doc: Pick<EventDoc, 'timestamp' | '_id'>): string {
  return Buffer.from(`${doc.timestamp.getTime()}.${doc._id.toHexString()}`).toString('base64url');
}

export function decodeEventCursor(cursor: string): { timestamp: Date; id: Types.ObjectId } {
  const m = /^(-?\d{1,16})\.([0-9a-f]{24})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'cursor is not one this API returned' });
  return { timestamp: new Date(Number(m[1])), id: new Types.ObjectId(m[2]) };
}
