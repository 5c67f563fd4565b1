import type { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { EventDoc, Models, ProfileDoc } from '../models/index.js';
import { suppress } from './suppression.js';

/**
 * Everything held about one person, always scoped to a site. Plain find/sort/limit, updateMany and
 * deleteMany only, so it runs on FerretDB 1.x as on MongoDB.
 */

/** The profile with this id in this site, or a 404 (another site's profile answers exactly as a missing one). */
export async function profileOf(
  models: Models,
  siteId: string | Types.ObjectId,
  id: Types.ObjectId,
): Promise<ProfileDoc> {
  const doc = await models.Profile.findOne({ _id: id, siteId }).lean();
  if (!doc)
    throw new TrackMateError('TM_ERR_PROFILE_NOT_FOUND', { message: `No profile ${id.toHexString()} in this site` });
  return doc;
}

/** The visitor ids ever linked to the profile: on the profile itself and in the identities collection. */
export async function anonymousIdsOf(models: Models, profile: ProfileDoc): Promise<string[]> {
  const links = await models.Identity.find(
    { siteId: profile.siteId, profileId: profile._id },
    { anonymousId: 1 },
  ).lean();
  return [...new Set([...(profile.anonymousIds ?? []), ...links.map((l) => l.anonymousId)])];
}

/**
 * The person's events, oldest first: those linked to the profile, and the anonymous history of its visitor
 * ids that no profile claimed (events of a shared device that another person identified stay theirs).
 */
export async function eventsOf(models: Models, profile: ProfileDoc, anonymousIds: string[]): Promise<EventDoc[]> {
  const sort = { timestamp: 1, _id: 1 } as const;
  const linked = await models.Event.find({ siteId: profile.siteId, profileId: profile._id }).sort(sort).lean();
  const anonymous = anonymousIds.length
    ? await models.Event.find({ siteId: profile.siteId, anonymousId: { $in: anonymousIds }, profileId: null })
        .sort(sort)
        .lean()
    : [];
  return [...linked, ...anonymous].sort(
    (a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a._id.toHexString().localeCompare(b._id.toHexString()),
  );
}

export interface Erased {
  profiles: number;
  events: number;
  identities: number;
  triggerEntries: number;
  deliveries: number;
  deadLetters: number;
  triggerVisitors: number;
}

/**
 * Erasure: the person's events (linked and anonymous), their trigger entries (so no delayed e-mail or webhook
 * about them goes out) and re-entry guards, the e-mail deliveries naming their address, the dead letters
 * holding their events or address, their visitor-id links, then the profile itself. Their e-mail and visitor
 * ids are suppressed for SUPPRESS_DAYS (hashed), so events still queued or retried cannot recreate them. The profile goes last, so an erasure interrupted half-way can simply be asked for again.
 */
export async function erasePerson(models: Models, profile: ProfileDoc): Promise<Erased> {
  const anonymousIds = await anonymousIdsOf(models, profile);
  const siteId = profile.siteId;
  const linked = await models.Event.deleteMany({ siteId, profileId: profile._id });
  const anonymous = anonymousIds.length
    ? await models.Event.deleteMany({ siteId, anonymousId: { $in: anonymousIds }, profileId: null })
    : { deletedCount: 0 };
  const entries = await models.TriggerEntry.deleteMany({
    siteId,
    $or: [{ profileId: profile._id }, { anonymousId: { $in: anonymousIds }, profileId: null }],
  });
  const deliveries = await models.Delivery.deleteMany({ siteId, kind: 'email', target: profile.email });
  // what could not be processed still names the person: events by their ids, e-mails by their address
  const profileHex = profile._id.toHexString();
  const deadLetters = await models.DeadLetter.deleteMany({
    siteId,
    $or: [
      { 'payload.profileId': profileHex },
      ...(anonymousIds.length ? [{ 'payload.anonymousId': { $in: anonymousIds } }] : []),
      { 'payload.profile.email': profile.email },
      { 'payload.to': profile.email },
    ],
  });
  // re-entry guards are keyed `<triggerId>:<visitor id or profile id>`
  const visitorIds = [profileHex, ...anonymousIds];
  const triggerIds = (await models.Trigger.find({ siteId }, { _id: 1 }).lean()).map((t) => t._id.toHexString());
  const guards = triggerIds.flatMap((tid) => visitorIds.map((v) => `${tid}:${v}`));
  const triggerVisitors = guards.length
    ? await models.TriggerVisitor.deleteMany({ _id: { $in: guards } })
    : { deletedCount: 0 };
  const identities = await models.Identity.deleteMany({ siteId, profileId: profile._id });
  // events still queued or retried by a browser must not recreate the person
  await suppress(
    models,
    siteId,
    [profile.email, profile.userId, ...anonymousIds].filter((id): id is string => !!id),
  );
  const profiles = await models.Profile.deleteOne({ _id: profile._id, siteId });
  return {
    profiles: profiles.deletedCount,
    events: linked.deletedCount + anonymous.deletedCount,
    identities: identities.deletedCount,
    triggerEntries: entries.deletedCount,
    deliveries: deliveries.deletedCount,
    deadLetters: deadLetters.deletedCount,
    triggerVisitors: triggerVisitors.deletedCount,
  };
}
