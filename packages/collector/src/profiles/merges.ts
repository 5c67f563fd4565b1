import type { Types } from 'mongoose';
import { findEachById, type Models } from '../models/index.js';
import { type RedisPresence, redisPresence } from '../plugins/redis-presence.js';

/** Where a merged profile went: the surviving profile and the site both belong to. */
export interface MergedTo {
  siteId: Types.ObjectId;
  into: Types.ObjectId;
}

/**
 * The profiles that these ids were merged into, following chains (a merged into b, b into c: a → c), for the
 * ids that were merged; one round of point lookups by `_id` per link of a chain, and none past the first when nothing was merged.
 * With `records` (mergeRecords), only the ids it says may have been merged are looked up.
 */
export async function mergedInto(
  models: Models,
  ids: Types.ObjectId[],
  records?: RedisPresence,
): Promise<Map<string, MergedTo>> {
  const hops = new Map<string, MergedTo>();
  let ask = [...new Map(ids.map((id) => [id.toHexString(), id])).values()];
  for (let level = 0; level < 8 && ask.length; level++) {
    if (records) ask = await mayBeMerged(records, ask);
    const found = await findEachById(ask, (id) => models.ProfileMerge.findById(id, { into: 1, siteId: 1 }).lean());
    for (const m of found) hops.set(m._id.toHexString(), { siteId: m.siteId, into: m.into });
    ask = found.map((m) => m.into).filter((id) => !hops.has(id.toHexString()));
  }
  const out = new Map<string, MergedTo>();
  for (const id of ids) {
    let at = hops.get(id.toHexString());
    for (let i = 0; i < 8 && at && hops.has(at.into.toHexString()); i++) at = hops.get(at.into.toHexString());
    if (at) out.set(id.toHexString(), at);
  }
  return out;
}

/** The id of the profile that holds the person now: `id` itself, or the profile it was merged into. */
export async function survivorOf(models: Models, id: Types.ObjectId): Promise<Types.ObjectId> {
  return (await mergedInto(models, [id])).get(id.toHexString())?.into ?? id;
}

/**
 * Which profiles may have been merged (have a `profile_merges` record), in Redis (plugins/redis-presence.ts), one set
 * for every site: mergeProfiles adds a profile before it writes its record, the unlinked keeper fills it from
 * `profile_merges` (fillMergeRecords). Merges are rare: most profiles an ingest job stores events of are not looked up.
 */
export const mergeRecords = (redis: Parameters<typeof redisPresence>[0], prefix: string): RedisPresence =>
  redisPresence(redis, prefix, 'merged');

/** The one partition of mergeRecords: a profile id names its site already. */
export const MERGES = 'all';

async function mayBeMerged(records: RedisPresence, ids: Types.ObjectId[]): Promise<Types.ObjectId[]> {
  const known = (await records.mayExist(new Map([[MERGES, ids.map((id) => id.toHexString())]]))).get(MERGES);
  return known ? ids.filter((id) => known.has(id.toHexString())) : ids;
}

/** Fills mergeRecords from `profile_merges` when it is not complete (one read of the collection's ids). */
export async function fillMergeRecords(
  models: Pick<Models, 'ProfileMerge'>,
  records: RedisPresence,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<number> {
  const { ids } = await records.fillIncomplete(
    [MERGES],
    async function* () {
      for await (const m of models.ProfileMerge.find({}, { _id: 1 }).lean().cursor({ batchSize: 5_000 }))
        yield m._id.toHexString();
    },
    keepLock,
  );
  return ids;
}
