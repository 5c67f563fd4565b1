import { Types } from 'mongoose';
import { duplicateIndexes, groupedInsert, type Models, retryUpsertRace, splitIdentityKey } from '../models/index.js';
import type { ProfileDocLock } from '../profiles/index.js';
import type { LinkMirror } from './link-mirror.js';
import { type Links, readLinks } from './visitor-links.js';

/**
 * Default daily number of new visitor ids browsers may link to one profile. A person brings a handful of
 * browsers and devices a day; a script identifying with someone's e-mail from thousands of visitor ids would
 * otherwise grow their identities without bound (and every export and erasure of them).
 */
export const LINKS_PER_PROFILE_DAY = 50;

/**
 * Applies the daily cap to the browser links of a job (server links are never capped): links of visitor ids
 * that are not yet this profile's count against `<profileId>|<UTC day>`; those past the cap are taken out of
 * `links` (their events are still stored, with the identify's own profile) and removed from the profile's
 * `anonymousIds`. Returns how many were refused. A retried job counts its links once more at most: the links it
 * saved before crashing are found and not counted again. People without a count document get theirs in one insert
 * for the job (insertFirstCounts); the others' counts are made each under `lock` (the profile documents' Redis
 * lock): FerretDB 1.24 can lose one of two concurrent updates of a document, and jobs counting one person at the
 * same time then let more links through than the cap.
 */
export async function capBrowserLinks(
  models: Models,
  links: Links,
  fromBrowser: Set<string>,
  cap: number,
  mirror?: LinkMirror,
  lock?: ProfileDocLock,
): Promise<number> {
  const browser = [...links].filter(([key]) => fromBrowser.has(key));
  if (!browser.length) return 0;
  const current = await readLinks(
    models,
    browser.map(([key]) => key),
    mirror,
  );
  const fresh = new Map<string, { profileId: Types.ObjectId; keys: string[] }>();
  for (const [key, profileId] of browser) {
    if (current.get(key)?.equals(profileId)) continue;
    const group = fresh.get(profileId.toHexString()) ?? { profileId, keys: [] };
    group.keys.push(key);
    fresh.set(profileId.toHexString(), group);
  }
  const day = new Date().toISOString().slice(0, 10);
  const groups = [...fresh.values()];
  const firsts = await insertFirstCounts(models, groups, day);
  let refused = 0;
  // each profile's count is a document of its own: counted at once (a batch of many jobs links many people,
  // and one count after the other made its latency the sum of theirs)
  await Promise.all(
    groups.map(async ({ profileId, keys }, i) => {
      const { siteId } = splitIdentityKey(keys[0]!);
      const counted = () => countLinks(models, profileId, siteId, day, keys.length);
      const after = firsts.has(i)
        ? keys.length
        : await (lock ? lock([`quota|${profileId.toHexString()}`], counted) : counted());
      const before = after - keys.length;
      const allowed = Math.max(0, cap - before);
      const over = keys.slice(allowed);
      if (!over.length) return;
      refused += over.length;
      for (const key of over) links.delete(key);
      await models.Profile.updateOne(
        { _id: profileId },
        { $pullAll: { anonymousIds: over.map((k) => splitIdentityKey(k).anonymousId) } },
      );
    }),
  );
  return refused;
}

/**
 * The day's first count of the profiles that have no count document at all (new people, the common case of a
 * sale day), made by inserting their documents: one insert for the whole job, grouped with the other jobs'
 * (models/insert-group.ts), where each count on its own was a `findAndModify`. Returns the indexes of `groups`
 * whose document was inserted, counted with their links; the others (a document exists: a returning person, or a
 * job counting the same person meanwhile) are counted by countLinks. An insert cannot lose a concurrent count as
 * an update can on FerretDB: of two jobs inserting one person's document one is refused and counts by update.
 */
async function insertFirstCounts(
  models: Models,
  groups: Array<{ profileId: Types.ObjectId; keys: string[] }>,
  day: string,
): Promise<Set<number>> {
  const inserted = new Set(groups.map((_, i) => i));
  const docs = groups.map(({ profileId, keys }) => ({
    _id: profileId.toHexString(),
    siteId: new Types.ObjectId(splitIdentityKey(keys[0]!).siteId),
    day,
    n: keys.length,
  }));
  await groupedInsert(models.LinkQuota)(docs).catch((err: unknown) => {
    for (const i of duplicateIndexes(err)) inserted.delete(i);
  });
  return inserted;
}

/**
 * Adds `k` to the profile's count of the day and returns the new count: one document per profile (`_id` is the
 * profile id), reset when its day is over, so the collection never holds more than one per profile. Every
 * write's filter is the `_id` alone (FerretDB serves nothing else from an index): the count is added, the
 * document made with today's `k` when it is missing (a new person's first links: one command); when it turns out
 * to be of another day, it is set to today's `k`, and a count another job started for today in between (seen in
 * the document as it was before) is added back.
 */
async function countLinks(models: Models, profileId: Types.ObjectId, siteId: string, day: string, k: number) {
  const _id = profileId.toHexString();
  const today = await retryUpsertRace(() =>
    models.LinkQuota.findOneAndUpdate(
      { _id },
      { $inc: { n: k }, $setOnInsert: { day, siteId } },
      { upsert: true, returnDocument: 'after' },
    ).lean(),
  );
  if (today?.day === day) return today.n;
  const before = await retryUpsertRace(() =>
    models.LinkQuota.findOneAndUpdate(
      { _id },
      { $set: { day, n: k }, $setOnInsert: { siteId } },
      { upsert: true, returnDocument: 'before' },
    ).lean(),
  );
  if (before?.day !== day) return k;
  const after = await models.LinkQuota.findOneAndUpdate(
    { _id },
    { $inc: { n: before.n } },
    { returnDocument: 'after' },
  ).lean();
  return after?.n ?? k + before.n;
}
