import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Models, ProfileDoc } from '../models/index.js';
import { redisCopy } from '../plugins/redis-copy.js';

/**
 * A copy in Redis of which profile holds each userId and e-mail of a site, so that the ingest worker finds the
 * profiles of a job's identifies by `_id`. In MongoDB it finds them by `userKey`/`emailKey` (unique indexes); on
 * FerretDB 1.24 any filter but `_id` alone is a pass over the whole collection (docs/production.md), which at
 * 100,000 profiles took seconds per identify.
 * - `profile-keys:<site id>` → hash, profile key (`u|<userKey>`, `e|<emailKey>`: upsert-profile.ts's profileKey)
 *   → profile id (hex). plugins/redis-copy.ts says how the copy is made and when it is complete.
 * - An entry is a hint: the profile it names is read by `_id` and taken only if it still holds the key, so a
 *   profile erased, merged away or given another address since is not written to; the key is then looked up in
 *   MongoDB as before.
 * - A key missing from a complete copy is held by no profile. The worker writes every key it gives a profile
 *   (creation, a userId's new address, a userId taken by an e-mail's profile, a merge) here after writing it to
 *   MongoDB, under the key's profile lock; nothing else gives a profile a key. Should the copy still miss one (a
 *   worker that died between the two writes), creating a profile for it is refused by the unique index and the key
 *   is looked up in MongoDB. A job whose profile writes failed half way drops its sites' copies (the keeper makes
 *   them again), and a retried job does not use the copy at all.
 * About 120 bytes of Redis per key.
 */
export interface ProfileKeysCopy {
  /** Profile ids of these keys as the complete copies know them (null: no profile); other keys left out. */
  read(keys: readonly string[]): Promise<Map<string, string | null>>;
  /** Keys just given to profiles in MongoDB (key → profile id). */
  write(pairs: ReadonlyMap<string, Types.ObjectId>): Promise<void>;
  /** Drops these sites' copies (a write to MongoDB whose keys may not have reached the copy); re-made by the keeper. */
  invalidate(siteIds: Iterable<string>): Promise<void>;
}

type Copier = Pick<Redis, 'pipeline' | 'eval' | 'get' | 'unlink' | 'mget'>;

/** The site of a profile key (`u|<site>|<userId>`, `e|<site>|<email>`). */
const siteOf = (key: string) => key.slice(2, key.indexOf('|', 2));

/** The keys a stored profile is found by. */
export const keysOfProfile = (p: Pick<ProfileDoc, 'userKey' | 'emailKey'>) => [
  ...(p.userKey ? [`u|${p.userKey}`] : []),
  ...(p.emailKey ? [`e|${p.emailKey}`] : []),
];

const holds = (p: Pick<ProfileDoc, 'userKey' | 'emailKey'>, key: string) =>
  key.startsWith('u|') ? p.userKey === key.slice(2) : p.emailKey === key.slice(2);

export function profileKeysCopy(redis: Copier, prefix: string): ProfileKeysCopy {
  const copy = redisCopy(redis, prefix, 'profile-keys');
  const bySite = <T>(items: Iterable<T>, keyOf: (t: T) => string) => {
    const out = new Map<string, T[]>();
    for (const item of items) {
      const site = siteOf(keyOf(item));
      const list = out.get(site);
      if (list) list.push(item);
      else out.set(site, [item]);
    }
    return out;
  };
  return {
    async read(keys) {
      const out = new Map<string, string | null>();
      for (const values of (await copy.read(bySite(new Set(keys), (k) => k))).values())
        for (const [key, hex] of values) out.set(key, hex);
      return out;
    },
    async write(pairs) {
      const values = new Map<string, Array<[string, string]>>();
      for (const [site, list] of bySite(pairs, ([key]) => key))
        values.set(
          site,
          list.map(([key, id]) => [key, id.toHexString()]),
        );
      await copy.write(values);
    },
    invalidate: (siteIds) => copy.invalidate(siteIds),
  };
}

/** The Redis keys of a site's copy (for the site's deletion). */
export const profileKeysCopyKeys = (redis: Copier, prefix: string, siteId: string) =>
  redisCopy(redis, prefix, 'profile-keys').keys(siteId);

/** Point reads at once per job, at most. */
const READS_AT_ONCE = 8;

/**
 * The profiles holding these keys (key → profile, or null for a key no profile holds). With a copy, keys it
 * answers for are read by `_id` (and checked); the others, and hints that no longer hold, are looked up in
 * MongoDB by `userKey`/`emailKey` in one find, whose answers are written back to the copy.
 */
export async function findProfilesByKey(
  models: Pick<Models, 'Profile'>,
  keys: readonly string[],
  copy?: ProfileKeysCopy,
): Promise<Map<string, ProfileDoc | null>> {
  const out = new Map<string, ProfileDoc | null>();
  const asked = [...new Set(keys)];
  let left = asked;
  if (copy && asked.length) {
    const hints = await copy.read(asked);
    const toRead: Array<[string, string]> = [];
    for (const key of asked) {
      const hint = hints.get(key);
      if (hint === null) out.set(key, null);
      else if (hint !== undefined) toRead.push([key, hint]);
    }
    for (let i = 0; i < toRead.length; i += READS_AT_ONCE) {
      const slice = toRead.slice(i, i + READS_AT_ONCE);
      const docs = await Promise.all(slice.map(([, hex]) => models.Profile.findById(hex).lean<ProfileDoc>()));
      slice.forEach(([key], j) => {
        const doc = docs[j];
        if (doc && holds(doc, key)) out.set(key, doc);
      });
    }
    left = asked.filter((k) => !out.has(k));
  }
  if (!left.length) return out;
  const userKeys = left.filter((k) => k.startsWith('u|')).map((k) => k.slice(2));
  const emailKeys = left.filter((k) => k.startsWith('e|')).map((k) => k.slice(2));
  const found = await models.Profile.find({
    $or: [{ userKey: { $in: userKeys } }, { emailKey: { $in: emailKeys } }],
  }).lean<ProfileDoc[]>();
  const wanted = new Set(left);
  const learnt = new Map<string, Types.ObjectId>();
  for (const doc of found)
    for (const key of keysOfProfile(doc))
      if (wanted.has(key)) {
        out.set(key, doc);
        learnt.set(key, doc._id);
      }
  for (const key of left) if (!out.has(key)) out.set(key, null);
  if (copy && learnt.size) await copy.write(learnt);
  return out;
}

/**
 * Copies the profile keys of every site whose copy is not complete (see ProfileKeysCopy): one read of the site's
 * profiles each. Run by one process at a time (the keeper's lock). Returns the number of sites and keys copied.
 */
export async function copyProfileKeys(
  models: Pick<Models, 'Site' | 'Profile'>,
  redis: Copier,
  prefix: string,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<{ sites: number; keys: number }> {
  const sites = (await models.Site.find({}, { _id: 1 }).lean()).map((s) => s._id.toHexString());
  const { partitions, fields } = await redisCopy(redis, prefix, 'profile-keys').copyIncomplete(
    sites,
    async function* (siteId) {
      const profiles = models.Profile.find({ siteId: new Types.ObjectId(siteId) }, { userKey: 1, emailKey: 1 })
        .lean()
        .cursor({ batchSize: 5_000 });
      for await (const doc of profiles) for (const key of keysOfProfile(doc)) yield [key, doc._id.toHexString()];
    },
    keepLock,
  );
  return { sites: partitions, keys: fields };
}
