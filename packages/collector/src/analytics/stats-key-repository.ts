import type { Types } from 'mongoose';
import type { Models } from '../models/index.js';

/** A stats key or share link as the site document holds it (the key itself only as its hash). */
export interface StatsKeyEntry {
  id: string;
  hash: string;
  kind: 'key' | 'link';
  label: string;
  createdAt: Date;
}

/**
 * The stats-key routes' reads and writes of `sites.statsKeys`, one small function each (fastify/demo's
 * tasks-repository shape), typed by the model: the handlers call these and never query or cast themselves.
 */
export function statsKeyRepository({ Site }: Pick<Models, 'Site'>) {
  const keysOf = async (siteId: Types.ObjectId) =>
    (await Site.findById(siteId, { statsKeys: 1 }).lean())?.statsKeys ?? [];
  return {
    /** The site's stats keys and share links, oldest first. */
    list: async (siteId: Types.ObjectId): Promise<StatsKeyEntry[]> =>
      (await keysOf(siteId)).map(({ id, hash, kind, label, createdAt }) => ({ id, hash, kind, label, createdAt })),
    /** Adds one unless the site holds `max` already (the filter refuses the push); false when it was full. */
    add: async (siteId: Types.ObjectId, entry: StatsKeyEntry, max: number) =>
      (
        await Site.updateOne(
          { _id: siteId, [`statsKeys.${max - 1}`]: { $exists: false } },
          { $push: { statsKeys: entry } },
        )
      ).modifiedCount > 0,
    /**
     * Removes one; false when the site has no such key. FerretDB 1.24 has no $pull by condition: the list is
     * replaced, if nobody changed it meanwhile.
     */
    remove: async (siteId: Types.ObjectId, id: string) => {
      const keys = await keysOf(siteId);
      const kept = keys.filter((k) => k.id !== id);
      if (kept.length === keys.length) return false;
      return (await Site.updateOne({ _id: siteId, statsKeys: keys }, { $set: { statsKeys: kept } })).modifiedCount > 0;
    },
  };
}
