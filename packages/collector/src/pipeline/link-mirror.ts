import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Models } from '../models/index.js';

/**
 * A copy of each site's visitor-id links (`identities`) in Redis, so that storing events does not look every
 * visitor up in `identities` (a point lookup by `_id` each, twice a job; on FerretDB each is a pass over the
 * whole collection: docs/production.md):
 * - `links:<site id>` → hash, visitor id → profile id (hex). The ingest worker writes a link here right after
 *   writing it to `identities`, and before it back-fills the visitor's events, so the write-then-read order that
 *   keeps links race-free (visitor-links.ts) holds for readers of the copy as it does for readers of `identities`.
 * - The copy of a site is complete, and its answers trusted — a visitor id missing from it is one without a link —
 *   only while `links-ready:<site id>` is set. The keeper (unlinked-keeper.ts) sets it after copying the site's
 *   links: it empties the hash, reads every identity of the site once, and adds each link the worker has not
 *   written meanwhile (HSETNX: a link written after the read is newer than the one read). It sets the key only
 *   if nothing invalidated the copy while it read (`links-gen:<site id>` unchanged).
 * - Changes made outside the worker's linking — profile merges, which move links to another profile, and
 *   erasures, which delete them — invalidate the site's copy (the counter bumped, key and hash dropped): until the
 *   keeper copies it again, readers ask `identities`, as they do for a site never copied and after Redis lost
 *   its data (the key goes with the hash).
 * Each link takes about 100 bytes of Redis.
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
}

export const linksKey = (prefix: string, siteId: string) => `${prefix}:links:${siteId}`;
export const linksReadyKey = (prefix: string, siteId: string) => `${prefix}:links-ready:${siteId}`;
export const linksGenKey = (prefix: string, siteId: string) => `${prefix}:links-gen:${siteId}`;

/** Fields per HMGET/HSET, well under Lua's unpack limit. */
const CHUNK = 1_000;

/** KEYS: ready key, hash. ARGV: visitor ids. The links, or false when the copy is not complete. */
const READ = `if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HMGET', KEYS[2], unpack(ARGV))`;

/** KEYS: counter, ready key, hash. */
const INVALIDATE = `redis.call('INCR', KEYS[1])
redis.call('DEL', KEYS[2])
return redis.call('UNLINK', KEYS[3])`;

/** KEYS: counter, ready key. ARGV: the counter as read before copying, now. Sets the key unless invalidated since. */
const SET_READY = `local gen = redis.call('GET', KEYS[1]) or ''
if gen ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

const split = (key: string) => {
  const sep = key.indexOf(':');
  return { siteId: key.slice(0, sep), anonymousId: key.slice(sep + 1) };
};

function bySite(keys: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const key of keys) {
    const { siteId, anonymousId } = split(key);
    const ids = out.get(siteId);
    if (ids) ids.push(anonymousId);
    else out.set(siteId, [anonymousId]);
  }
  return out;
}

export function linkMirror(redis: Pick<Redis, 'pipeline' | 'eval'>, prefix: string): LinkMirror {
  return {
    async read(keys) {
      const out = new Map<string, Types.ObjectId | null>();
      if (!keys.length) return out;
      const asked: Array<{ siteId: string; ids: string[] }> = [];
      const pipeline = redis.pipeline();
      for (const [siteId, ids] of bySite(new Set(keys))) {
        for (let i = 0; i < ids.length; i += CHUNK) {
          const chunk = ids.slice(i, i + CHUNK);
          asked.push({ siteId, ids: chunk });
          pipeline.eval(READ, 2, linksReadyKey(prefix, siteId), linksKey(prefix, siteId), ...chunk);
        }
      }
      const results = (await pipeline.exec()) ?? [];
      const incomplete = new Set<string>();
      asked.forEach(({ siteId, ids }, i) => {
        const [err, values] = results[i] ?? [new Error('no reply')];
        if (err) throw err;
        // a site's chunks may straddle an invalidation: the site is answered whole or not at all
        if (!Array.isArray(values)) {
          incomplete.add(siteId);
          return;
        }
        ids.forEach((id, j) => {
          const hex = values[j] as string | null;
          out.set(`${siteId}:${id}`, hex ? new Types.ObjectId(hex) : null);
        });
      });
      if (incomplete.size) for (const key of out.keys()) if (incomplete.has(split(key).siteId)) out.delete(key);
      return out;
    },
    async write(links) {
      if (!links.size) return;
      const fields = new Map<string, string[]>();
      for (const [key, profileId] of links) {
        const { siteId, anonymousId } = split(key);
        const list = fields.get(siteId) ?? [];
        list.push(anonymousId, profileId.toHexString());
        fields.set(siteId, list);
      }
      const pipeline = redis.pipeline();
      for (const [siteId, list] of fields)
        for (let i = 0; i < list.length; i += 2 * CHUNK)
          pipeline.hset(linksKey(prefix, siteId), ...list.slice(i, i + 2 * CHUNK));
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    },
    async invalidate(siteIds) {
      const sites = [...new Set(siteIds)];
      if (!sites.length) return;
      const pipeline = redis.pipeline();
      for (const siteId of sites)
        pipeline.eval(
          INVALIDATE,
          3,
          linksGenKey(prefix, siteId),
          linksReadyKey(prefix, siteId),
          linksKey(prefix, siteId),
        );
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    },
  };
}

/**
 * Copies the links of every site without `links-ready:<site>` (see LinkMirror): one read of the site's
 * identities each. Run by one process at a time (the keeper's lock). Returns the number of sites and links copied.
 */
export async function copyLinks(
  models: Pick<Models, 'Site' | 'Identity'>,
  redis: Pick<Redis, 'mget' | 'get' | 'unlink' | 'pipeline' | 'eval'>,
  prefix: string,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<{ sites: number; links: number }> {
  const sites = await models.Site.find({}, { _id: 1 }).lean();
  if (!sites.length) return { sites: 0, links: 0 };
  const ready = await redis.mget(...sites.map((s) => linksReadyKey(prefix, s._id.toHexString())));
  let copied = 0;
  let links = 0;
  for (const [i, site] of sites.entries()) {
    if (ready[i] !== null) continue;
    const siteId = site._id.toHexString();
    const gen = (await redis.get(linksGenKey(prefix, siteId))) ?? '';
    // a link written before this point is in `identities` already, so the read below finds it
    await redis.unlink(linksKey(prefix, siteId));
    let batch: string[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const pipeline = redis.pipeline();
      for (let j = 0; j < batch.length; j += 2) pipeline.hsetnx(linksKey(prefix, siteId), batch[j]!, batch[j + 1]!);
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
      links += batch.length / 2;
      batch = [];
    };
    const cursor = models.Identity.find({ siteId: site._id }, { profileId: 1 }).lean().cursor({ batchSize: 5_000 });
    for await (const doc of cursor) {
      if (!doc.profileId) continue;
      batch.push(split(doc._id).anonymousId, doc.profileId.toHexString());
      if (batch.length >= 2 * CHUNK) await flush();
    }
    await flush();
    const set = await redis.eval(
      SET_READY,
      2,
      linksGenKey(prefix, siteId),
      linksReadyKey(prefix, siteId),
      gen,
      new Date().toISOString(),
    );
    if (Number(set) === 1) copied++;
    await keepLock();
  }
  return { sites: copied, links };
}
