import type { Types } from 'mongoose';
import { findEachById, type Models } from '../models/index.js';

/** Where a merged profile went: the surviving profile and the site both belong to. */
export interface MergedTo {
  siteId: Types.ObjectId;
  into: Types.ObjectId;
}

/**
 * The profiles that these ids were merged into, following chains (a merged into b, b into c: a → c), for the
 * ids that were merged; one round of point lookups by `_id` per link of a chain, and none past the first when nothing was merged.
 */
export async function mergedInto(models: Models, ids: Types.ObjectId[]): Promise<Map<string, MergedTo>> {
  const hops = new Map<string, MergedTo>();
  let ask = [...new Map(ids.map((id) => [id.toHexString(), id])).values()];
  for (let level = 0; level < 8 && ask.length; level++) {
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
