import type { Types } from 'mongoose';
import { emailKeyOf, isDuplicateKey, type Models, type ProfileDoc, userKeyOf } from '../models/index.js';
import type { RedisPresence } from '../plugins/redis-presence.js';
import { MERGES } from './merges.js';
import { findProfilesByKey, type ProfileKeysCopy } from './profile-keys-copy.js';
import type { ProfileTouch } from './profile-touch.js';

/** One profile merged into another by a job. */
export interface ProfileMerged {
  siteId: Types.ObjectId;
  from: Types.ObjectId;
  into: Types.ObjectId;
}

/**
 * Links the site's userIds to e-mails before a job's profiles are upserted (touches in time order). Only a
 * backend (a secret-key event) binds a userId to an e-mail. For a backend's event that carries both:
 * - neither known: one profile gets both (the upsert creates it);
 * - the e-mail's profile has no userId: it takes this one;
 * - the userId's profile has no e-mail: it takes this one; it may also change to a new address;
 * - both known, on two profiles, the e-mail's without a userId: the same person under two profiles — the
 *   e-mail's is merged into the userId's (mergeProfiles), keeping every event and consent;
 * - the e-mail is another userId's: the event goes to its userId's profile and the address stays where it is.
 * A browser's event (the public write key) that pairs a userId with an e-mail the userId's profile does not
 * already hold binds nothing: its event goes to the userId's profile, which records the address as its
 * `unverifiedEmail`, and the address gets (or updates) a profile of its own, as an e-mail alone would — so a
 * stranger's claim can neither take an address from its profile nor give a user someone else's address. Every
 * step is idempotent, so a retried job merges nothing twice.
 */
export async function linkUserIds(
  models: Models,
  touches: ProfileTouch[],
  /** Where the merges made are noted (the saved funnels join the two profiles' progress). */
  mergedOut?: ProfileMerged[],
  /** The Redis copy of which profile holds each key; it learns the keys given here. */
  copy?: ProfileKeysCopy,
  /** Which profiles may have been merged (merges.ts, mergeRecords): it learns the profiles merged here. */
  mergeRecords?: RedisPresence,
): Promise<ProfileTouch[]> {
  const both = touches.filter((t) => t.profile.userId && t.profile.email);
  if (!both.length) return touches;
  const found = await findProfilesByKey(
    models,
    both.flatMap((t) => [`u|${userKeyOf(t.siteId, t.profile.userId!)}`, `e|${emailKeyOf(t.siteId, t.profile.email!)}`]),
    copy,
  );
  const docs = [...found.values()].filter((d) => d !== null);
  const byUser = new Map(docs.filter((d) => d.userKey).map((d) => [d.userKey!, d]));
  const byEmail = new Map(docs.filter((d) => d.emailKey).map((d) => [d.emailKey!, d]));

  const out: ProfileTouch[] = [];
  for (const t of touches) {
    const { userId, email } = t.profile;
    if (!userId || !email) {
      out.push(t);
      continue;
    }
    const uk = userKeyOf(t.siteId, userId);
    const ek = emailKeyOf(t.siteId, email);
    const user = byUser.get(uk);
    const owner = byEmail.get(ek);
    const withoutEmail = () => out.push({ ...t, profile: { ...t.profile, email: undefined } });
    if (user && owner && user._id.equals(owner._id)) {
      out.push(t);
    } else if (t.from !== 'server') {
      out.push(...browserClaim(t, email));
    } else if (!user && !owner) {
      out.push(t); // the upsert makes one profile with both
    } else if (user && owner) {
      if (owner.userId) {
        withoutEmail();
        continue;
      }
      await mergeProfiles(models, owner._id, user._id, mergeRecords);
      await copy?.write(new Map([[`e|${ek}`, user._id]]));
      mergedOut?.push({ siteId: user.siteId, from: owner._id, into: user._id });
      const merged = { ...user, email, emailKey: ek };
      byUser.set(uk, merged);
      byEmail.set(ek, merged);
      out.push(t);
    } else if (user) {
      // the e-mail is on no profile: the user's first address, or their new one
      if (user.emailKey) byEmail.delete(user.emailKey);
      const updated = { ...user, email, emailKey: ek };
      byUser.set(uk, updated);
      byEmail.set(ek, updated);
      out.push(t); // the upsert by userId sets the e-mail
    } else if (owner) {
      if (owner.userId) {
        withoutEmail(); // the address is another user's
        continue;
      }
      const taken = await models.Profile.updateOne(
        { _id: owner._id, userKey: { $exists: false } },
        { $set: { userId, userKey: uk } },
      ).catch((err: unknown) => {
        if (isDuplicateKey(err)) return null; // another worker gave the userId a profile meanwhile: no link
        throw err;
      });
      if (!taken) {
        withoutEmail();
        continue;
      }
      await copy?.write(new Map([[`u|${uk}`, owner._id]]));
      const updated = { ...owner, userId, userKey: uk };
      byUser.set(uk, updated);
      byEmail.set(ek, updated);
      out.push(t);
    }
  }
  return out;
}

/**
 * A browser's userId + e-mail that no backend has bound: the event's touch keyed by the userId, without the
 * address (recorded as claimed) and without a consent decision, and a touch of the address alone (no visitor id:
 * the visitor stays with the userId), which carries the consent decision, as it is the address's owner's.
 */
function browserClaim(t: ProfileTouch, email: string): ProfileTouch[] {
  const { consent, consentSource, firstName, lastName, phone } = t.profile;
  return [
    { ...t, claimedEmail: email, profile: { ...t.profile, email: undefined, consent: undefined } },
    { ...t, anonymousId: null, profile: { email, consent, consentSource, firstName, lastName, phone } },
  ];
}

/**
 * Merges profile `fromId` into `intoId` (one person known under two profiles): `into` gets the visitor ids, the
 * consent history, the names it lacks and the newer standing consent; events, visitor links and trigger entries
 * move to it; `from` is deleted and `into` takes its e-mail. Each step can run again without effect, so a merge
 * interrupted by a crash is finished by the job's retry.
 */
export async function mergeProfiles(
  models: Models,
  fromId: Types.ObjectId,
  intoId: Types.ObjectId,
  mergeRecords?: RedisPresence,
): Promise<void> {
  const [found, into] = await Promise.all([
    models.Profile.findById(fromId, { siteId: 1 }).lean(),
    models.Profile.findById(intoId).lean(),
  ]);
  if (!found || !into || !found.siteId.equals(into.siteId)) return;
  // the record first: a job that writes to `from` after the steps below read it (an event stored with its id, a
  // consent decision) reads the record afterwards and applies its write to `into` too (pipeline/visitor-links.ts,
  // recordConsents); links already sent with `from` (unsubscribe, export) follow it as well
  // (its profile known to mergeRecords before and after it is written: plugins/redis-presence.ts)
  const record = () =>
    models.ProfileMerge.updateOne(
      { _id: found._id },
      { $set: { into: into._id, siteId: found.siteId, at: new Date() } },
      { upsert: true },
    );
  await (mergeRecords ? mergeRecords.around(new Map([[MERGES, [found._id.toHexString()]]]), record) : record());
  const from = await models.Profile.findById(fromId).lean();
  if (!from) return;
  const set: Partial<Pick<ProfileDoc, 'firstName' | 'lastName' | 'phone' | 'consent' | 'updatedAt'>> = {
    updatedAt: new Date(),
  };
  for (const field of ['firstName', 'lastName', 'phone'] as const) {
    if (!into[field] && from[field]) set[field] = from[field];
  }
  const fromAt = from.consent?.updatedAt ? new Date(from.consent.updatedAt).getTime() : -1;
  const intoAt = into.consent?.updatedAt ? new Date(into.consent.updatedAt).getTime() : -1;
  if (fromAt > intoAt) set.consent = from.consent;
  await models.Profile.updateOne(
    { _id: into._id },
    {
      $set: set,
      $addToSet: {
        anonymousIds: { $each: from.anonymousIds ?? [] },
        consentHistory: { $each: from.consentHistory ?? [] },
      },
    },
  );
  const moved = { siteId: from.siteId, profileId: from._id };
  const to = { $set: { profileId: into._id } };
  await models.Identity.updateMany(moved, to);
  await models.Event.updateMany(moved, to);
  await models.TriggerEntry.updateMany(moved, to);
  await models.ProfileMerge.updateMany({ siteId: from.siteId, into: from._id }, { $set: { into: into._id } });
  await models.Profile.deleteOne({ _id: from._id });
  if (from.email) {
    await models.Profile.updateOne(
      { _id: into._id },
      { $set: { email: from.email, emailKey: emailKeyOf(from.siteId.toHexString(), from.email) } },
    );
  }
}
