import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { type Models, splitIdentityKey } from '../models/index.js';
import { redisCopy } from '../plugins/redis-copy.js';
import { type RedisPresence, redisPresence } from '../plugins/redis-presence.js';
import { fillMergeRecords, mergeRecords } from '../profiles/index.js';

/**
 * A copy of each site's visitor-id links (`identities`) in Redis, so that storing events does not look every
 * visitor up in `identities` (a point lookup by `_id` each, twice a job; on FerretDB each is a pass over the
 * whole collection: docs/production.md):
 * - `links:<site id>` → hash, visitor id → profile id (hex). The ingest worker writes a link here right after
 *   writing it to `identities`, and before it back-fills the visitor's events, so the write-then-read order that
 *   keeps links race-free (visitor-links.ts) holds for readers of the copy as it does for readers of `identities`.
 * - The copy of a site is complete, and its answers trusted — a visitor id missing from it is one without a link —
 *   only while `links-ready:<site id>` is set: the keeper (unlinked-keeper.ts) copies the site's identities once
 *   (plugins/redis-copy.ts says how a copy made while the worker writes stays right).
 * - Changes made outside the worker's linking — profile merges, which move links to another profile, and
 *   erasures, which delete them — invalidate the site's copy (the counter bumped, key and hash dropped): until the
 *   keeper copies it again, readers ask `identities`, as they do for a site never copied and after Redis lost
 *   its data (the key goes with the hash).
 * Each link takes about 100 bytes of Redis. Beside the copy, two sets (plugins/redis-presence.ts) say which visitor
 * ids may have pending aliases and which profiles may have been merged, so that the settle step of a job looks up
 * only those in `pending_aliases` and `profile_merges` (visitor-links.ts).
 */
export interface LinkMirror {
  /**
   * The links of these visitor ids (identityKey) as the complete copies know them: a profile id, or null for a
   * visitor id without a link. Visitor ids of sites whose copy is not complete are left out of the answer.
   */
  read(keys: string[]): Promise<Map<string, Types.ObjectId | null>>;
  /** Writes links just written to `identities` (identityKey → profile). */
  write(links: ReadonlyMap<string, Types.ObjectId>): Promise<void>;
  /** Drops a site's copy after its links changed other than by write(); readers ask `identities` until re-copied. */
  invalidate(siteIds: Iterable<string>): Promise<void>;
  /** Which visitor ids (per site) may have a `pending_aliases` document (pendingAliasRecords). */
  aliases: RedisPresence;
  /** Which profiles may have been merged (profiles/merges.ts, mergeRecords). */
  merges: RedisPresence;
}

/** Which visitor ids of each site may have pending aliases: notePendingAliases adds them before writing them. */
export const pendingAliasRecords = (redis: Parameters<typeof redisPresence>[0], prefix: string): RedisPresence =>
  redisPresence(redis, prefix, 'aliased');

export const linksKey = (prefix: string, siteId: string) => `${prefix}:links:${siteId}`;
export const linksReadyKey = (prefix: string, siteId: string) => `${prefix}:links-ready:${siteId}`;

type Copier = Pick<Redis, 'pipeline' | 'eval' | 'get' | 'unlink' | 'mget' | 'set'>;

export function linkMirror(redis: Copier, prefix: string): LinkMirror {
  const copy = redisCopy(redis, prefix, 'links');
  return {
    async read(keys) {
      const asked = new Map<string, string[]>();
      for (const key of new Set(keys)) {
        const { siteId, anonymousId } = splitIdentityKey(key);
        const list = asked.get(siteId);
        if (list) list.push(anonymousId);
        else asked.set(siteId, [anonymousId]);
      }
      const out = new Map<string, Types.ObjectId | null>();
      for (const [siteId, values] of await copy.read(asked))
        for (const [anonymousId, hex] of values)
          out.set(`${siteId}:${anonymousId}`, hex ? new Types.ObjectId(hex) : null);
      return out;
    },
    async write(links) {
      const values = new Map<string, Array<[string, string]>>();
      for (const [key, profileId] of links) {
        const { siteId, anonymousId } = splitIdentityKey(key);
        const list = values.get(siteId);
        if (list) list.push([anonymousId, profileId.toHexString()]);
        else values.set(siteId, [[anonymousId, profileId.toHexString()]]);
      }
      await copy.write(values);
    },
    invalidate: (siteIds) => copy.invalidate(siteIds),
    aliases: pendingAliasRecords(redis, prefix),
    merges: mergeRecords(redis, prefix),
  };
}

/** The Redis keys of a site's copy of its links (for the site's deletion). */
export const linkCopyKeys = (redis: Copier, prefix: string, siteId: string) =>
  redisCopy(redis, prefix, 'links').keys(siteId);

/**
 * Copies the links of every site whose copy is not complete (see LinkMirror): one read of the site's identities
 * each. Run by one process at a time (the keeper's lock). Returns the number of sites and links copied.
 */
export async function copyLinks(
  models: Pick<Models, 'Site' | 'Identity'>,
  redis: Copier,
  prefix: string,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<{ sites: number; links: number }> {
  const sites = (await models.Site.find({}, { _id: 1 }).lean()).map((s) => s._id.toHexString());
  const { partitions, fields } = await redisCopy(redis, prefix, 'links').copyIncomplete(
    sites,
    async function* (siteId) {
      const identities = models.Identity.find({ siteId: new Types.ObjectId(siteId) }, { profileId: 1 })
        .lean()
        .cursor({ batchSize: 5_000 });
      for await (const doc of identities)
        if (doc.profileId) yield [splitIdentityKey(doc._id).anonymousId, doc.profileId.toHexString()];
    },
    keepLock,
  );
  return { sites: partitions, links: fields };
}

/**
 * Fills the sets of visitor ids with pending aliases of every site whose set is not complete (one read of the site's
 * `pending_aliases` ids each), and the set of merged profiles (one read of `profile_merges`). Run by one process at
 * a time (the keeper's lock). Returns the number of sites filled.
 */
export async function fillLinkRecords(
  models: Pick<Models, 'Site' | 'PendingAlias' | 'ProfileMerge'>,
  redis: Copier,
  prefix: string,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<number> {
  const sites = (await models.Site.find({}, { _id: 1 }).lean()).map((s) => s._id.toHexString());
  const { partitions } = await pendingAliasRecords(redis, prefix).fillIncomplete(
    sites,
    async function* (siteId) {
      const docs = models.PendingAlias.find({ siteId: new Types.ObjectId(siteId) }, { _id: 1 })
        .lean()
        .cursor({ batchSize: 5_000 });
      for await (const doc of docs) yield splitIdentityKey(doc._id).anonymousId;
    },
    keepLock,
  );
  await fillMergeRecords(models, mergeRecords(redis, prefix), keepLock);
  return partitions;
}
