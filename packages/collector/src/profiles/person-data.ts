import type { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import { deleteInSlices, type EventDoc, type Models, type ProfileDoc } from '../models/index.js';
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

/** Documents read or deleted per round trip when a person's data is read or erased. */
export const PAGE_SIZE = 1_000;
/** The visitor ids, most recently linked first, that erasure suppresses and looks for in queued jobs. */
export const RECENT_VISITOR_IDS = 1_000;
/**
 * Up to this many visitor ids, documents of the person's visitor ids are found with one `$in` query. Beyond it
 * (a script identifying one e-mail from thousands of browsers), the ids are held in memory ID_WINDOW at a time
 * and matched here against one pass over the site's unlinked documents: FerretDB evaluates `$in` by comparing
 * each document with each listed value, so a page-by-page `$in` costs ids × documents and never finishes at
 * 200,000 ids, while a pass per window costs the documents once per 50,000 ids.
 */
export const IN_QUERY_IDS = 1_000;
export const ID_WINDOW = 50_000;

/**
 * The visitor ids ever linked to the profile (on the profile itself and in its identity links) in windows of
 * about `size`, so a person with any number of them is read in bounded memory. A window is the ids whose hash
 * falls in one share of the range, read by its own pass over the links: no cursor is held open while the caller
 * works through a window (a server closes cursors left idle for minutes).
 */
export async function* visitorIdWindows(
  models: Models,
  profile: ProfileDoc,
  size = ID_WINDOW,
): AsyncGenerator<string[]> {
  const filter = { siteId: profile.siteId, profileId: profile._id };
  const own = [...new Set(profile.anonymousIds ?? [])];
  const windows = Math.max(1, Math.ceil((own.length + (await models.Identity.countDocuments(filter))) / size));
  const inWindow = (id: string, w: number) => windows === 1 || hashOf(id) % windows === w;
  for (let w = 0; w < windows; w++) {
    const ids = new Set(own.filter((id) => inWindow(id, w)));
    const links = models.Identity.find(filter, { anonymousId: 1 }).lean().cursor({ batchSize: PAGE_SIZE });
    for await (const link of links) if (inWindow(link.anonymousId, w)) ids.add(link.anonymousId);
    if (ids.size) yield [...ids];
  }
}

/** FNV-1a, 32 bits: spreads visitor ids evenly over windows. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** The profile's visitor ids, the most recently linked first, at most `limit` (one pass over its links). */
export async function recentVisitorIds(
  models: Models,
  profile: ProfileDoc,
  limit = RECENT_VISITOR_IDS,
): Promise<string[]> {
  const own = [...new Set(profile.anonymousIds ?? [])];
  let newest: Array<{ anonymousId: string; linkedAt: Date }> = [];
  const byRecency = (a: { linkedAt: Date }, b: { linkedAt: Date }) => b.linkedAt.getTime() - a.linkedAt.getTime();
  const links = models.Identity.find(
    { siteId: profile.siteId, profileId: profile._id },
    { anonymousId: 1, linkedAt: 1 },
  )
    .lean()
    .cursor({ batchSize: PAGE_SIZE });
  for await (const link of links) {
    newest.push({ anonymousId: link.anonymousId, linkedAt: new Date(link.linkedAt ?? 0) });
    // keep the newest `limit` without sorting every link (the server would have to hold them all to sort)
    if (newest.length >= 2 * limit) newest = newest.sort(byRecency).slice(0, limit);
  }
  const linked = newest.sort(byRecency).map((l) => l.anonymousId);
  return [...new Set([...own, ...linked])].slice(0, limit);
}

/**
 * The documents of a collection keyed by visitor id that name one of the person's visitor ids, for each window
 * of them: `query(ids)` (one `$in` query) when the person has few, otherwise `query()` (every candidate document
 * of the site, e.g. its events without a profile) filtered here by `visitorOf`.
 */
async function* ofVisitorIds<D>(
  models: Models,
  profile: ProfileDoc,
  query: (ids?: string[]) => AsyncIterable<D>,
  visitorOf: (doc: D) => unknown,
): AsyncGenerator<D> {
  for await (const ids of visitorIdWindows(models, profile)) {
    if (ids.length <= IN_QUERY_IDS) {
      yield* query(ids);
      continue;
    }
    const window = new Set(ids);
    for await (const doc of query()) {
      const visitor = visitorOf(doc);
      if (typeof visitor === 'string' && window.has(visitor)) yield doc;
    }
  }
}

/**
 * The person's events, a page at a time: those linked to the profile oldest first, then the anonymous history
 * of its visitor ids that no profile claimed (events of a shared device that another person identified stay
 * theirs) — oldest first when the person has few visitor ids, in storage order when it has many. Read through
 * cursors, so memory stays bounded.
 */
export async function* eventPages(models: Models, profile: ProfileDoc, size = PAGE_SIZE): AsyncGenerator<EventDoc[]> {
  const siteId = profile.siteId;
  const sort = { timestamp: 1, _id: 1 } as const;
  yield* pagesOf(
    models.Event.find({ siteId, profileId: profile._id }).sort(sort).lean().cursor({ batchSize: size }),
    size,
  );
  const unlinked = (ids?: string[]) =>
    ids
      ? models.Event.find({ siteId, anonymousId: { $in: ids }, profileId: null })
          .sort(sort)
          .lean()
          .cursor({ batchSize: size })
      : models.Event.find({ siteId, profileId: null }).lean().cursor({ batchSize: size });
  yield* pagesOf(
    ofVisitorIds(models, profile, unlinked, (e) => e.anonymousId),
    size,
  );
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

/** Deletes documents by `_id` a page at a time as `docs` yields them; returns how many were deleted. */
async function deleteEach<K>(
  docs: AsyncIterable<{ _id: K }>,
  remove: (ids: K[]) => Promise<{ deletedCount: number }>,
): Promise<number> {
  let deleted = 0;
  for await (const page of pagesOf(docs, PAGE_SIZE)) deleted += (await remove(page.map((d) => d._id))).deletedCount;
  return deleted;
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
 * holding their events or address, their visitor-id links, then the profile itself — the visitor ids a window
 * at a time, so a person with any number of them is erased in bounded memory. Their e-mail, userId and most
 * recent visitor ids (`recent`, RECENT_VISITOR_IDS of them) are suppressed for SUPPRESS_DAYS (hashed), so
 * events still queued or retried cannot recreate them. The profile goes last, so an erasure interrupted
 * half-way can simply be asked for again.
 */
export async function erasePerson(models: Models, profile: ProfileDoc, recent?: string[]): Promise<Erased> {
  const siteId = profile.siteId;
  const profileHex = profile._id.toHexString();
  const recentIds = recent ?? (await recentVisitorIds(models, profile));
  const triggerIds = (await models.Trigger.find({ siteId }, { _id: 1 }).lean()).map((t) => t._id.toHexString());
  const count = { events: 0, triggerEntries: 0, deadLetters: 0, triggerVisitors: 0 };

  count.events += await deleteInSlices(models.Event, { siteId, profileId: profile._id });
  count.triggerEntries += await deleteInSlices(models.TriggerEntry, { siteId, profileId: profile._id });
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

  // then what names one of their visitor ids without the profile's id
  const batch = { batchSize: PAGE_SIZE };
  count.events += await deleteEach(
    ofVisitorIds(
      models,
      profile,
      (ids) =>
        ids
          ? models.Event.find({ siteId, anonymousId: { $in: ids }, profileId: null }, { anonymousId: 1 })
              .lean()
              .cursor(batch)
          : models.Event.find({ siteId, profileId: null }, { anonymousId: 1 }).lean().cursor(batch),
      (e) => e.anonymousId,
    ),
    (ids) => models.Event.deleteMany({ _id: { $in: ids } }),
  );
  count.triggerEntries += await deleteEach(
    ofVisitorIds(
      models,
      profile,
      (ids) =>
        ids
          ? models.TriggerEntry.find({ siteId, anonymousId: { $in: ids }, profileId: null }, { anonymousId: 1 })
              .lean()
              .cursor(batch)
          : models.TriggerEntry.find({ siteId, profileId: null }, { anonymousId: 1 }).lean().cursor(batch),
      (e) => e.anonymousId,
    ),
    (ids) => models.TriggerEntry.deleteMany({ _id: { $in: ids } }),
  );
  count.deadLetters += await deleteEach(
    ofVisitorIds(
      models,
      profile,
      (ids) =>
        models.DeadLetter.find(ids ? { siteId, 'payload.anonymousId': { $in: ids } } : { siteId }, {
          'payload.anonymousId': 1,
        })
          .lean<Array<{ _id: Types.ObjectId; payload?: { anonymousId?: unknown } }>>()
          .cursor(batch),
      (d) => d.payload?.anonymousId,
    ),
    (ids) => models.DeadLetter.deleteMany({ _id: { $in: ids } }),
  );
  // re-entry guards are keyed `<triggerId>:<visitor id or profile id>`
  for (const tid of triggerIds) {
    count.triggerVisitors += (await models.TriggerVisitor.deleteMany({ _id: `${tid}:${profileHex}` })).deletedCount;
    count.triggerVisitors += await deleteEach(
      ofVisitorIds(
        models,
        profile,
        (ids) =>
          models.TriggerVisitor.find(
            { _id: ids ? { $in: ids.map((v) => `${tid}:${v}`) } : { $gt: `${tid}:`, $lt: `${tid};` } },
            { _id: 1 },
          )
            .lean()
            .cursor(batch),
        (g) => g._id.slice(tid.length + 1),
      ),
      (ids) => models.TriggerVisitor.deleteMany({ _id: { $in: ids } }),
    );
  }

  const deliveries = profile.email
    ? await models.Delivery.deleteMany({ siteId, kind: 'email', target: profile.email })
    : { deletedCount: 0 };
  const identities = await deleteInSlices(models.Identity, { siteId, profileId: profile._id });
  await models.PendingAlias.deleteMany({ _id: { $in: recentIds.map((id) => `${siteId.toHexString()}:${id}`) } });
  // events still queued or retried by a browser must not recreate the person
  await suppress(
    models,
    siteId,
    [profile.email, profile.userId, ...recentIds].filter((id): id is string => !!id),
  );
  await models.ProfileMerge.deleteMany({ siteId, into: profile._id });
  await models.LinkQuota.deleteOne({ _id: profileHex });
  await models.ProfileFacts.deleteOne({ _id: profile._id });
  await models.CampaignSend.deleteMany({ siteId, profileId: profile._id }); // they hold the address
  await models.CampaignClaim.deleteMany({ siteId, profileId: profile._id });
  const profiles = await models.Profile.deleteOne({ _id: profile._id, siteId });
  return {
    profiles: profiles.deletedCount,
    events: count.events,
    identities,
    triggerEntries: count.triggerEntries,
    deliveries: deliveries.deletedCount,
    deadLetters: count.deadLetters,
    triggerVisitors: count.triggerVisitors,
  };
}
