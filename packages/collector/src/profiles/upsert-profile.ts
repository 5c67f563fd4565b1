import type { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import { isDuplicateKey, type Models } from '../models/index.js';

/** The profile a profile-creating event carries, keyed by e-mail. */
export interface ProfileUpsert {
  email: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  /** An explicit consent decision carried by the event, if any. */
  consent?: boolean;
  consentSource: 'form' | 'identify' | 'api' | 'server';
}

/**
 * Creates or updates the profile keyed by (site, e-mail) and returns its id. Idempotent, so a retried job is
 * harmless; a concurrent insert of the same e-mail loses the race on the unique index and is retried as an update.
 */
export async function upsertProfile(
  models: Models,
  siteId: Types.ObjectId,
  input: ProfileUpsert,
  at: Date,
  anonymousId: string | null,
): Promise<Types.ObjectId> {
  const now = new Date();
  const set: Record<string, unknown> = { updatedAt: now };
  if (input.firstName) set.firstName = input.firstName;
  if (input.lastName) set.lastName = input.lastName;
  if (input.phone) set.phone = input.phone;
  const setOnInsert: Record<string, unknown> = { createdAt: now, consent: { email: false }, consentHistory: [] };
  if (!anonymousId) setOnInsert.anonymousIds = [];
  const update = {
    $set: set,
    $setOnInsert: setOnInsert,
    ...(anonymousId ? { $addToSet: { anonymousIds: anonymousId } } : {}),
  };

  const filter = { siteId, email: input.email };
  let doc: { _id: Types.ObjectId } | null = null;
  for (let attempt = 0; attempt < 3 && !doc; attempt++) {
    try {
      // (no projection: FerretDB 1.x's findAndModify does not take one)
      doc = await models.Profile.findOneAndUpdate(filter, update, {
        upsert: true,
        returnDocument: 'after',
        setDefaultsOnInsert: false,
      }).lean();
    } catch (err) {
      if (!isDuplicateKey(err) || attempt === 2) throw err;
    }
  }
  if (!doc) throw new TrackMateError('TM_ERR_DATABASE', { message: 'The profile upsert returned no profile' });
  if (input.consent !== undefined) await recordConsent(models, doc._id, input.consent, at, input.consentSource);
  return doc._id;
}

/**
 * Records a consent decision with its time and source. The newest decision by time wins, so an explicit
 * `false` given after a `true` always stands, whatever order the events are processed in. The history
 * keeps one entry per (time, source, value), so a retried job does not repeat it.
 */
export async function recordConsent(
  models: Models,
  profileId: Types.ObjectId,
  email: boolean,
  at: Date,
  source: 'form' | 'identify' | 'api' | 'server' | 'unsubscribe',
): Promise<void> {
  await models.Profile.updateOne({ _id: profileId }, { $addToSet: { consentHistory: { email, at, source } } });
  await models.Profile.updateOne(
    { _id: profileId, $or: [{ 'consent.updatedAt': { $exists: false } }, { 'consent.updatedAt': { $lte: at } }] },
    { $set: { 'consent.email': email, 'consent.updatedAt': at, updatedAt: new Date() } },
  );
}
