import type { Profile } from '@trackmate/schema';
import { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { ProfileDoc } from '../models/index.js';

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
  if (doc.unverifiedEmail?.email) {
    view.unverifiedEmail = { email: doc.unverifiedEmail.email, at: new Date(doc.unverifiedEmail.at).toISOString() };
  }
  return view;
}

/** Profile-page cursors: the _id of the last profile of a page. */
export function decodeProfileCursor(cursor: string): Types.ObjectId {
  if (!/^[0-9a-f]{24}$/.test(cursor)) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'cursor is not one this API returned' });
  }
  return new Types.ObjectId(cursor);
}
