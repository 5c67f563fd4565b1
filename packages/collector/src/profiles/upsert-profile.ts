import { Types } from 'mongoose';
import type { ProfileUpsert } from '../ingest/queued-event.js';
import type { Models } from '../models/index.js';

const isDuplicateKey = (err: unknown) => (err as { code?: number })?.code === 11000;

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
  const update: Record<string, unknown> = {
    $set: set,
    $setOnInsert: { createdAt: now, consent: { email: false }, consentHistory: [] },
  };
  if (anonymousId) update.$addToSet = { anonymousIds: anonymousId };
  else (update.$setOnInsert as Record<string, unknown>).anonymousIds = [];

  const filter = { siteId, email: input.email };
  let doc: { _id: Types.ObjectId } | null = null;
  for (let attempt = 0; attempt < 3 && !doc; attempt++) {
    try {
      doc = await models.Profile.collection.findOneAndUpdate(filter, update, {
        upsert: true,
        returnDocument: 'after', // (no projection: FerretDB 1.x's findAndModify does not take one)
      });
    } catch (err) {
      if (!isDuplicateKey(err) || attempt === 2) throw err;
    }
  }
  if (!doc) throw new Error('profile upsert returned nothing');
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
  source: string,
): Promise<void> {
  const entry = { email, at, source };
  await models.Profile.collection.updateOne({ _id: profileId }, { $addToSet: { consentHistory: entry } });
  await models.Profile.collection.updateOne(
    { _id: profileId, $or: [{ 'consent.updatedAt': { $exists: false } }, { 'consent.updatedAt': { $lte: at } }] },
    { $set: { 'consent.email': email, 'consent.updatedAt': at, updatedAt: new Date() } },
  );
}

export const toObjectId = (id: string) => new Types.ObjectId(id);
