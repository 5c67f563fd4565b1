import { type AnyBulkWriteOperation, type QueryFilter, Types } from 'mongoose';
import type { ConsentEntry, Models, ProfileDoc } from '../models/index.js';
import { bulkWriteInSlices, emailKeyOf, retryUpsertRace, userKeyOf } from '../models/index.js';
import { writeErrorsOf } from '../models/write-errors.js';
import type { RedisPresence } from '../plugins/redis-presence.js';
import { mergedInto } from './merges.js';
import type { ProfileDocLock } from './profile-doc-locks.js';
import { findProfilesByKey, keysOfProfile, type ProfileKeysCopy } from './profile-keys-copy.js';
import type { ProfileTouch, ProfileUpsert } from './profile-touch.js';
import { linkUserIds, type ProfileMerged } from './user-ids.js';

/** The names a profile is given (by a backend, or by browsers where no backend has named the person). */
const NAME_FIELDS = ['firstName', 'lastName', 'phone'] as const;
type Names = Partial<Pick<ProfileDoc, (typeof NAME_FIELDS)[number]>>;

/** Bounds that keep a profile far below MongoDB's 16 MB document limit, however long it lives. */
export const PROFILE_CAPS = { anonymousIds: 200, consentHistory: 500 } as const;

/** The key a touch's profile is found by: its userId when it has one, else its e-mail. */
export const profileKey = (siteId: string, p: Pick<ProfileUpsert, 'email' | 'userId'>) =>
  p.userId ? `u|${userKeyOf(siteId, p.userId)}` : `e|${emailKeyOf(siteId, p.email ?? '')}`;

/**
 * Creates or updates the profiles of a job's profile-creating events, keyed by (site, userId) when the event has
 * one and by (site, e-mail) otherwise, with one `bulkWrite` and one `find` whatever the number of events; returns
 * profileKey → id. userIds are linked to e-mails first (linkUserIds: profiles may be merged). Idempotent, so a
 * retried job is harmless; an upsert that loses a race with another worker on a unique key is run again as an
 * update. Consent decisions are recorded with one more `bulkWrite`.
 */
export async function upsertProfiles(
  models: Models,
  touches: ProfileTouch[],
  merged?: ProfileMerged[],
  lock?: ProfileDocLock,
  /** The Redis copy of which profile holds each key (profile-keys-copy.ts); without it keys are looked up. */
  copy?: ProfileKeysCopy,
  /** Which profiles may have been merged (merges.ts): it learns the profiles merged here. */
  mergeRecords?: RedisPresence,
): Promise<Map<string, Types.ObjectId>> {
  if (!touches.length) return new Map();
  const write = () =>
    writeProfiles(models, touches, merged, copy, mergeRecords).catch(async (err: unknown) => {
      // what was written may have given keys the copy does not know: it is not trusted until made again
      await copy?.invalidate(new Set(touches.map((t) => t.siteId))).catch(() => {});
      throw err;
    });
  if (!lock) return write();
  // every key a touch's profile may be found by: the profile API's changes of those people wait for these writes
  const keys = touches.flatMap(({ siteId, profile: p }) => [
    ...(p.userId ? [`u|${userKeyOf(siteId, p.userId)}`] : []),
    ...(p.email ? [`e|${emailKeyOf(siteId, p.email)}`] : []),
  ]);
  return lock(keys, write);
}

async function writeProfiles(
  models: Models,
  touches: ProfileTouch[],
  merged?: ProfileMerged[],
  copy?: ProfileKeysCopy,
  mergeRecords?: RedisPresence,
): Promise<Map<string, Types.ObjectId>> {
  const ids = new Map<string, Types.ObjectId>();
  const ordered = await linkUserIds(
    models,
    [...touches].sort((a, b) => a.at.getTime() - b.at.getTime()),
    merged,
    copy,
    mergeRecords,
  );
  type Group = {
    siteId: string;
    key: string;
    filter: Pick<ProfileDoc, 'userKey' | 'emailKey'>;
    onInsert: Pick<ProfileDoc, 'userId' | 'userKey' | 'email' | 'emailKey'>;
    email?: string;
    set: Names;
    names: Names;
    server: boolean;
    visitors: Set<string>;
    claim?: { email: string; at: Date };
  };
  const groups = new Map<string, Group>();
  for (const t of ordered) {
    const key = profileKey(t.siteId, t.profile);
    let g = groups.get(key);
    if (!g) {
      const { userId, email } = t.profile;
      const keyed: Pick<Group, 'filter' | 'onInsert'> = userId
        ? {
            filter: { userKey: userKeyOf(t.siteId, userId) },
            onInsert: { userId, userKey: userKeyOf(t.siteId, userId) },
          }
        : {
            filter: { emailKey: emailKeyOf(t.siteId, email!) },
            onInsert: { email: email!, emailKey: emailKeyOf(t.siteId, email!) },
          };
      g = { key, ...keyed, siteId: t.siteId, set: {}, names: {}, server: false, visitors: new Set() };
      groups.set(key, g);
    }
    // a userId's profile takes the e-mail its events carry (linkUserIds removed those it may not take)
    if (t.profile.userId && t.profile.email) g.email = t.profile.email;
    // the latest event that names a field sets it; once a backend has named the person, browsers no longer do
    const fields = t.from === 'server' ? g.set : g.names;
    for (const k of NAME_FIELDS) if (t.profile[k]) fields[k] = t.profile[k];
    if (t.from === 'server') {
      g.server = true;
      for (const k of NAME_FIELDS) if (g.set[k]) delete g.names[k];
    }
    if (t.anonymousId) g.visitors.add(t.anonymousId);
    if (t.claimedEmail) g.claim = { email: t.claimedEmail, at: t.at };
  }
  const now = new Date();
  const all = [...groups.values()];
  // With the copy, each group's profile is read by `_id` (or known to be missing) and written by `_id`; the
  // groups it cannot answer for are upserted by key, as without it.
  let byKey = all;
  const trim: Types.ObjectId[] = [];
  if (copy) {
    const found = await findProfilesByKey(
      models,
      all.map((g) => g.key),
      copy,
    );
    const present = all.filter((g) => found.get(g.key));
    const missing = all.filter((g) => found.get(g.key) === null);
    byKey = all.filter((g) => found.get(g.key) === undefined);
    const learnt = new Map<string, Types.ObjectId>();
    if (present.length) {
      const ops: AnyBulkWriteOperation<ProfileDoc>[] = present.map((g) => {
        const doc = found.get(g.key)!;
        // browsers' names only where no backend has named the person (this update included)
        const names = g.server || doc.namesFrom === 'server' ? {} : g.names;
        const update = profileUpdate(g, now);
        return { updateOne: { filter: { _id: doc._id }, update: { ...update, $set: { ...update.$set, ...names } } } };
      });
      const { matched } = await bulkWriteInSlices(models.Profile, ops, { ordered: false });
      if (matched < ops.length) {
        byKey.push(...present); // a profile gone since it was read (an erasure): upserted by key, as before
      } else {
        for (const g of present) {
          const doc = found.get(g.key)!;
          ids.set(g.key, doc._id);
          if (g.email) learnt.set(`e|${emailKeyOf(g.siteId, g.email)}`, doc._id);
          const visitors = new Set([...(doc.anonymousIds ?? []), ...g.visitors]).size;
          if (visitors > PROFILE_CAPS.anonymousIds || (doc.consentHistory?.length ?? 0) > PROFILE_CAPS.consentHistory)
            trim.push(doc._id);
        }
      }
    }
    if (missing.length) {
      const docs = missing.map((g) => ({
        _id: new Types.ObjectId(),
        ...profileInsert(g, now),
        ...profileUpdate(g, now).$set,
        ...(g.server ? {} : g.names),
        anonymousIds: [...g.visitors],
      }));
      // as they are (lean: no defaults, no validation): the documents the upserts below would create
      const inserted = await models.Profile.insertMany(docs, { ordered: false, lean: true }).then(
        () => true,
        (err: unknown) => {
          const listed = writeErrorsOf(err);
          if (listed?.length && listed.every((w) => w.code === 11000)) return false; // the copy missed a key
          throw err;
        },
      );
      if (inserted) {
        missing.forEach((g, i) => {
          const id = docs[i]!._id;
          ids.set(g.key, id);
          learnt.set(g.key, id);
          if (g.email) learnt.set(`e|${emailKeyOf(g.siteId, g.email)}`, id);
          if (g.visitors.size > PROFILE_CAPS.anonymousIds) trim.push(id);
        });
      } else {
        byKey.push(...missing); // upserted by key: those inserted are found and updated alike
      }
    }
    if (learnt.size) await copy.write(learnt);
  }

  if (byKey.length) {
    const ops: AnyBulkWriteOperation<ProfileDoc>[] = byKey.map((g) => {
      const setOnInsert = profileInsert(g, now);
      if (!g.visitors.size) setOnInsert.anonymousIds = [];
      return {
        updateOne: {
          filter: g.filter,
          update: { ...profileUpdate(g, now), $setOnInsert: setOnInsert },
          upsert: true,
          setDefaultsOnInsert: false,
        },
      };
    });
    await retryUpsertRace(() => bulkWriteInSlices(models.Profile, ops, { ordered: false }));
    // names from browsers: only where no backend has named the person
    const browserNames: AnyBulkWriteOperation<ProfileDoc>[] = byKey
      .filter((g) => Object.keys(g.names).length)
      .map((g) => ({
        updateOne: {
          filter: { ...g.filter, namesFrom: { $ne: 'server' } },
          update: { $set: g.names },
        },
      }));
    if (browserNames.length) await bulkWriteInSlices(models.Profile, browserNames, { ordered: false });

    const userKeys = byKey.flatMap((g) => (g.filter.userKey ? [g.filter.userKey] : []));
    const emailKeys = byKey.flatMap((g) => (g.filter.emailKey ? [g.filter.emailKey] : []));
    const found = await models.Profile.find(
      { $or: [{ userKey: { $in: userKeys } }, { emailKey: { $in: emailKeys } }] },
      { userKey: 1, emailKey: 1, anonymousIds: 1, consentHistory: 1 },
    ).lean();
    const learnt = new Map<string, Types.ObjectId>();
    for (const doc of found) {
      if (doc.userKey) ids.set(`u|${doc.userKey}`, doc._id);
      if (doc.emailKey) ids.set(`e|${doc.emailKey}`, doc._id);
      for (const key of keysOfProfile(doc)) learnt.set(key, doc._id);
    }
    await trimProfiles(models, found);
    if (copy && learnt.size) await copy.write(learnt);
  }
  if (trim.length) {
    const docs = await Promise.all(
      trim.map((id) => models.Profile.findById(id, { anonymousIds: 1, consentHistory: 1 }).lean()),
    );
    await trimProfiles(
      models,
      docs.filter((d) => d !== null),
    );
  }

  const decisions = ordered.flatMap((t) => {
    const id = ids.get(profileKey(t.siteId, t.profile));
    return id && t.profile.consent !== undefined
      ? [{ profileId: id, email: t.profile.consent, at: t.at, source: t.profile.consentSource }]
      : [];
  });
  await recordConsents(models, decisions);
  return ids;
}

type ProfileGroup = {
  siteId: string;
  onInsert: Pick<ProfileDoc, 'userId' | 'userKey' | 'email' | 'emailKey'>;
  email?: string;
  set: Names;
  server: boolean;
  visitors: Set<string>;
  claim?: { email: string; at: Date };
};

/** The fields a group's profile is created with (beside what the update sets). */
function profileInsert(g: ProfileGroup, now: Date): Partial<ProfileDoc> {
  return {
    siteId: new Types.ObjectId(g.siteId),
    ...g.onInsert,
    createdAt: now,
    consent: { email: false },
    consentHistory: [],
  };
}

/** The update of a group's profile, found or created (without the browsers' names: see writeProfiles). */
function profileUpdate(g: ProfileGroup, now: Date) {
  return {
    $set: {
      ...g.set,
      ...(g.email ? { email: g.email, emailKey: emailKeyOf(g.siteId, g.email) } : {}),
      ...(g.server ? { namesFrom: 'server' as const } : {}),
      ...(g.claim ? { unverifiedEmail: g.claim } : {}),
      updatedAt: now,
    },
    ...(g.visitors.size ? { $addToSet: { anonymousIds: { $each: [...g.visitors] } } } : {}),
    // an address bound now settles whatever a browser claimed before
    ...(g.email && !g.claim ? { $unset: { unverifiedEmail: '' as const } } : {}),
  };
}

/** Keeps the newest visitor ids and consent decisions of profiles past PROFILE_CAPS. */
async function trimProfiles(
  models: Models,
  docs: Array<Pick<ProfileDoc, '_id' | 'anonymousIds' | 'consentHistory'>>,
): Promise<void> {
  const ops: AnyBulkWriteOperation<ProfileDoc>[] = [];
  for (const d of docs) {
    // only if the arrays are still as read: a concurrent job's additions are never overwritten (it trims next)
    const filter: QueryFilter<ProfileDoc> = { _id: d._id };
    const set: Partial<Pick<ProfileDoc, 'anonymousIds' | 'consentHistory'>> = {};
    if ((d.anonymousIds?.length ?? 0) > PROFILE_CAPS.anonymousIds) {
      filter.anonymousIds = { $size: d.anonymousIds.length };
      set.anonymousIds = d.anonymousIds.slice(-PROFILE_CAPS.anonymousIds);
    }
    if ((d.consentHistory?.length ?? 0) > PROFILE_CAPS.consentHistory) {
      filter.consentHistory = { $size: d.consentHistory.length };
      set.consentHistory = [...d.consentHistory]
        .sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime())
        .slice(-PROFILE_CAPS.consentHistory);
    }
    if (Object.keys(set).length) ops.push({ updateOne: { filter, update: { $set: set } } });
  }
  if (ops.length) await bulkWriteInSlices(models.Profile, ops, { ordered: false });
}

/** Decisions sent from browsers (the public write key). */
const BROWSER_SOURCES = new Set<ConsentEntry['source']>(['form', 'identify']);
/** Decisions a browser's never replaces. */
const STANDING_SOURCES = new Set<ConsentEntry['source']>(['unsubscribe', 'api', 'server', 'confirmation']);

export interface ConsentDecision {
  profileId: Types.ObjectId;
  email: boolean;
  at: Date;
  source: ConsentEntry['source'];
}

/**
 * Records consent decisions with their time and source, in one `bulkWrite`. The newest decision by time wins,
 * so an explicit `false` given after a `true` always stands, whatever order the events are processed in. The
 * history keeps one entry per (time, source, value), so a retried job does not repeat it.
 */
export async function recordConsents(models: Models, decisions: ConsentDecision[]): Promise<void> {
  if (!decisions.length) return;
  const ops: AnyBulkWriteOperation<ProfileDoc>[] = decisions.flatMap(({ profileId, email, at, source }) => {
    const newer = { $or: [{ 'consent.updatedAt': { $exists: false } }, { 'consent.updatedAt': { $lte: at } }] };
    // a browser's decision (anyone can send one, dated as they like) never replaces an unsubscribe, the profile
    // API's or a backend's: only those, or a newer browser decision over a browser's, change the standing one
    const filter = BROWSER_SOURCES.has(source)
      ? { _id: profileId, $and: [newer, { 'consent.source': { $nin: [...STANDING_SOURCES] } }] }
      : { _id: profileId, ...newer };
    const set = { 'consent.email': email, 'consent.updatedAt': at, 'consent.source': source, updatedAt: new Date() };
    return [
      { updateOne: { filter: { _id: profileId }, update: { $addToSet: { consentHistory: { email, at, source } } } } },
      { updateOne: { filter, update: { $set: set } } },
    ];
  });
  await bulkWriteInSlices(models.Profile, ops, { ordered: true });
  // read after writing: a decision that reached a profile while it was being merged into another (after the merge
  // copied its consent) is recorded on the surviving profile too; the merge writes its record before it copies
  const moved = await mergedInto(
    models,
    decisions.map((d) => d.profileId),
  );
  const again = decisions.flatMap((d) => {
    const to = moved.get(d.profileId.toHexString());
    return to ? [{ ...d, profileId: to.into }] : [];
  });
  if (again.length) await recordConsents(models, again);
}

/** One consent decision (the profile API, the unsubscribe link). */
export const recordConsent = (
  models: Models,
  profileId: Types.ObjectId,
  email: boolean,
  at: Date,
  source: ConsentEntry['source'],
) => recordConsents(models, [{ profileId, email, at, source }]);
