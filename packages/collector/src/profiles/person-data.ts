import { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { EventDoc, Models, ProfileDoc } from '../models/index.js';

/**
 * Everything held about one person, always scoped to a site. Plain find/sort/limit, updateMany and
 * deleteMany only, so it runs on FerretDB 1.x as on MongoDB.
 */

/** The profile with this id in this site, or a 404 (another site's profile answers exactly as a missing one). */
export async function profileOf(models: Models, siteId: string, id: Types.ObjectId): Promise<ProfileDoc> {
  const doc = await models.Profile.collection.findOne({ _id: id, siteId: new Types.ObjectId(siteId) });
  if (!doc)
    throw new TrackMateError('TM_ERR_PROFILE_NOT_FOUND', { message: `No profile ${id.toHexString()} in this site` });
  return doc as unknown as ProfileDoc;
}

/** The visitor ids ever linked to the profile: on the profile itself and in the identities collection. */
export async function anonymousIdsOf(models: Models, profile: ProfileDoc): Promise<string[]> {
  const links = await models.Identity.collection
    .find({ siteId: profile.siteId, profileId: profile._id }, { projection: { anonymousId: 1 } })
    .toArray();
  return [...new Set([...(profile.anonymousIds ?? []), ...links.map((l) => String(l.anonymousId))])];
}

/**
 * The person's events, oldest first: those linked to the profile, and the anonymous history of its visitor
 * ids that no profile claimed (events of a shared device that another person identified stay theirs).
 */
export async function eventsOf(models: Models, profile: ProfileDoc, anonymousIds: string[]): Promise<EventDoc[]> {
  const sort = { timestamp: 1, _id: 1 } as const;
  const linked = await models.Event.collection
    .find({ siteId: profile.siteId, profileId: profile._id })
    .sort(sort)
    .toArray();
  const anonymous = anonymousIds.length
    ? await models.Event.collection
        .find({ siteId: profile.siteId, anonymousId: { $in: anonymousIds }, profileId: null })
        .sort(sort)
        .toArray()
    : [];
  return ([...linked, ...anonymous] as unknown as EventDoc[]).sort(
    (a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a._id.toHexString().localeCompare(b._id.toHexString()),
  );
}

export interface Erased {
  profiles: number;
  events: number;
  identities: number;
  triggerEntries: number;
  deliveries: number;
}

/**
 * Erasure: the person's events (linked and anonymous), their trigger entries (so no delayed e-mail or webhook
 * about them goes out), the e-mail deliveries naming their address, their visitor-id links, then the profile
 * itself. The profile goes last, so an erasure interrupted half-way can simply be asked for again.
 */
export async function erasePerson(models: Models, profile: ProfileDoc): Promise<Erased> {
  const anonymousIds = await anonymousIdsOf(models, profile);
  const siteId = profile.siteId;
  const linked = await models.Event.collection.deleteMany({ siteId, profileId: profile._id });
  const anonymous = anonymousIds.length
    ? await models.Event.collection.deleteMany({ siteId, anonymousId: { $in: anonymousIds }, profileId: null })
    : { deletedCount: 0 };
  const entries = await models.TriggerEntry.collection.deleteMany({
    siteId,
    $or: [{ profileId: profile._id }, { anonymousId: { $in: anonymousIds }, profileId: null }],
  });
  const deliveries = await models.Delivery.collection.deleteMany({ siteId, kind: 'email', target: profile.email });
  const identities = await models.Identity.collection.deleteMany({ siteId, profileId: profile._id });
  const profiles = await models.Profile.collection.deleteOne({ _id: profile._id, siteId });
  return {
    profiles: profiles.deletedCount,
    events: linked.deletedCount + anonymous.deletedCount,
    identities: identities.deletedCount,
    triggerEntries: entries.deletedCount,
    deliveries: deliveries.deletedCount,
  };
}
