import type { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { EventDoc, Models, ProfileDoc } from '../models/index.js';
import { survivorOf } from './merges.js';
import { suppress } from './suppression.js';

/**
 * Everything held about one person, always scoped to a site. Plain find/sort/limit, updateMany and
 * deleteMany only, so it runs on FerretDB 1.x as on MongoDB.
 */

/**
 * The profile with this id in this site — or, for a profile that was merged into another, the one that holds the
 * person now — or a 404 (another site's profile answers exactly as a missing one).
 */
export async function profileOf(
  models: Models,
  siteId: string | Types.ObjectId,
  id: Types.ObjectId,
): Promise<ProfileDoc> {
  const doc =
    (await models.Profile.findOne({ _id: id, siteId }).lean()) ??
    (await models.Profile.findOne({ _id: await survivorOf(models, id), siteId }).lean());
  if (!doc)
    throw new TrackMateError('TM_ERR_PROFILE_NOT_FOUND', { message: `No profile ${id.toHexString()} in this site` });
  return doc;
}

/** Visitor ids read or deleted per round trip when a person's data is read or erased. */
export const PAGE_SIZE = 1_000;
/** The visitor ids, most recently linked first, that erasure suppresses and looks for in queued jobs. */
export const RECENT_VISITOR_IDS = 1_000;

/**
 * The visitor ids ever linked to the profile, a page at a time (on the profile itself, then the identities
 * collection in `_id` order), so a person with any number of them is read in bounded memory.
 */
export async function* visitorIdPages(models: Models, profile: ProfileDoc, size = PAGE_SIZE): AsyncGenerator<string[]> {
  const own = new Set(profile.anonymousIds ?? []);
  if (own.size) yield [...own];
  let after: string | undefined;
  for (;;) {
    const page = await models.Identity.find(
      { siteId: profile.siteId, profileId: profile._id, ...(after === undefined ? {} : { _id: { $gt: after } }) },
      { anonymousId: 1 },
    )
      .sort({ _id: 1 })
      .limit(size)
      .lean();
    if (!page.length) return;
    after = page[page.length - 1]!._id;
    const ids = page.map((l) => l.anonymousId).filter((id) => !own.has(id));
    if (ids.length) yield ids;
    if (page.length < size) return;
  }
}

/** The profile's visitor ids, the most recently linked first, at most `limit`. */
export async function recentVisitorIds(
  models: Models,
  profile: ProfileDoc,
  limit = RECENT_VISITOR_IDS,
): Promise<string[]> {
  const links = await models.Identity.find({ siteId: profile.siteId, profileId: profile._id }, { anonymousId: 1 })
    .sort({ linkedAt: -1 })
    .limit(limit)
    .lean();
  return [...new Set([...(profile.anonymousIds ?? []), ...links.map((l) => l.anonymousId)])].slice(0, limit);
}

/**
 * The person's events, a page at a time: those linked to the profile oldest first, then the anonymous history
 * of its visitor ids that no profile claimed (events of a shared device that another person identified stay
 * theirs), oldest first per page of visitor ids. Read through cursors, so memory stays bounded.
 */
export async function* eventPages(models: Models, profile: ProfileDoc, size = PAGE_SIZE): AsyncGenerator<EventDoc[]> {
  const sort = { timestamp: 1, _id: 1 } as const;
  yield* pagesOf(
    models.Event.find({ siteId: profile.siteId, profileId: profile._id }).sort(sort).lean().cursor({
      batchSize: size,
    }),
    size,
  );
  for await (const ids of visitorIdPages(models, profile)) {
    yield* pagesOf(
      models.Event.find({ siteId: profile.siteId, anonymousId: { $in: ids }, profileId: null })
        .sort(sort)
        .lean()
        .cursor({ batchSize: size }),
      size,
    );
  }
}

async function* pagesOf<T>(cursor: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let page: T[] = [];
  for await (const doc of cursor) {
    page.push(doc);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length) yield page;
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
 * holding their events or address, their visitor-id links, then the profile itself — the visitor ids a page at
 * a time, so a person with any number of them is erased in bounded memory. Their e-mail, userId and most
 * recent visitor ids (RECENT_VISITOR_IDS) are suppressed for SUPPRESS_DAYS (hashed), so events still queued or
 * retried cannot recreate them. The profile goes last, so an erasure interrupted half-way can simply be asked
 * for again.
 */
export async function erasePerson(models: Models, profile: ProfileDoc): Promise<Erased> {
  const siteId = profile.siteId;
  const profileHex = profile._id.toHexString();
  const recent = await recentVisitorIds(models, profile);
  const triggerIds = (await models.Trigger.find({ siteId }, { _id: 1 }).lean()).map((t) => t._id.toHexString());
  const count = { events: 0, triggerEntries: 0, deadLetters: 0, triggerVisitors: 0 };
  const guardsOf = async (ids: string[]) => {
    // re-entry guards are keyed `<triggerId>:<visitor id or profile id>`
    const guards = triggerIds.flatMap((tid) => ids.map((v) => `${tid}:${v}`));
    if (guards.length)
      count.triggerVisitors += (await models.TriggerVisitor.deleteMany({ _id: { $in: guards } })).deletedCount;
  };

  count.events += (await models.Event.deleteMany({ siteId, profileId: profile._id })).deletedCount;
  count.triggerEntries += (await models.TriggerEntry.deleteMany({ siteId, profileId: profile._id })).deletedCount;
  // what could not be processed still names the person: events by their ids, e-mails by their address
  count.deadLetters += (
    await models.DeadLetter.deleteMany({
      siteId,
      $or: [
        { 'payload.profileId': profileHex },
        ...(profile.email ? [{ 'payload.profile.email': profile.email }, { 'payload.to': profile.email }] : []),
      ],
    })
  ).deletedCount;
  await guardsOf([profileHex]);
  for await (const ids of visitorIdPages(models, profile)) {
    count.events += (
      await models.Event.deleteMany({ siteId, anonymousId: { $in: ids }, profileId: null })
    ).deletedCount;
    count.triggerEntries += (
      await models.TriggerEntry.deleteMany({ siteId, anonymousId: { $in: ids }, profileId: null })
    ).deletedCount;
    count.deadLetters += (
      await models.DeadLetter.deleteMany({ siteId, 'payload.anonymousId': { $in: ids } })
    ).deletedCount;
    await guardsOf(ids);
  }
  const deliveries = profile.email
    ? await models.Delivery.deleteMany({ siteId, kind: 'email', target: profile.email })
    : { deletedCount: 0 };
  const identities = await models.Identity.deleteMany({ siteId, profileId: profile._id });
  await models.PendingAlias.deleteMany({ _id: { $in: recent.map((id) => `${siteId.toHexString()}:${id}`) } });
  // events still queued or retried by a browser must not recreate the person
  await suppress(
    models,
    siteId,
    [profile.email, profile.userId, ...recent].filter((id): id is string => !!id),
  );
  await models.ProfileMerge.deleteMany({ siteId, into: profile._id });
  await models.LinkQuota.deleteOne({ _id: profileHex });
  await models.ProfileFacts.deleteOne({ _id: profile._id });
  const profiles = await models.Profile.deleteOne({ _id: profile._id, siteId });
  return {
    profiles: profiles.deletedCount,
    events: count.events,
    identities: identities.deletedCount,
    triggerEntries: count.triggerEntries,
    deliveries: deliveries.deletedCount,
    deadLetters: count.deadLetters,
    triggerVisitors: count.triggerVisitors,
  };
}
