import type { Profile, StoredEvent } from '@trackmate/schema';
import { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import { type EventDoc, type ProfileDoc, sentByOf } from '../models/index.js';

/** The API form of a stored profile; the consent history oldest first. */
export function profileView(doc: ProfileDoc): Profile {
  const view: Profile = {
    id: doc._id.toHexString(),
    siteId: doc.siteId.toHexString(),
    consent: { email: doc.consent?.email === true },
    consentHistory: [...(doc.consentHistory ?? [])]
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .map((c) => ({ email: c.email, at: c.at.toISOString(), source: c.source })),
    anonymousIds: doc.anonymousIds ?? [],
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
  if (doc.consent?.updatedAt) view.consent.updatedAt = doc.consent.updatedAt.toISOString();
  if (doc.email) view.email = doc.email;
  if (doc.userId) view.userId = doc.userId;
  if (doc.firstName) view.firstName = doc.firstName;
  if (doc.lastName) view.lastName = doc.lastName;
  if (doc.phone) view.phone = doc.phone;
  if (doc.metadata && typeof doc.metadata === 'object') view.metadata = doc.metadata;
  return view;
}

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

/** Profile-page cursors: the _id of the last profile of a page. */
export function decodeProfileCursor(cursor: string): Types.ObjectId {
  if (!/^[0-9a-f]{24}$/.test(cursor)) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'cursor is not one this API returned' });
  }
  return new Types.ObjectId(cursor);
}
