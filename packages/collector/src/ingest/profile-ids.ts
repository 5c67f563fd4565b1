import type { Models } from '../models/index.js';
import type { Validated } from './validate-client.js';

/**
 * A profileId must name a profile of the key's site: an event naming any other (another site's person, a
 * guessed id) is rejected with a reason, never stored or linked. Events carrying a profile to upsert are
 * linked by it instead. One query for the whole request.
 */
export async function rejectForeignProfileIds(models: Models, siteId: string, v: Validated): Promise<void> {
  const wanted = [...new Set(v.events.flatMap((e) => (e.profileId && !e.profile ? [e.profileId] : [])))];
  if (!wanted.length) return;
  const found = await models.Profile.find({ siteId, _id: { $in: wanted } }, { _id: 1 }).lean();
  const known = new Set(found.map((d) => d._id.toHexString()));
  for (let i = v.events.length - 1; i >= 0; i--) {
    const e = v.events[i]!;
    if (!e.profileId || e.profile || known.has(e.profileId)) continue;
    v.rejected.push({ index: v.indexes[i]!, errors: [`/profileId: no profile ${e.profileId} in this site`] });
    v.events.splice(i, 1);
    v.indexes.splice(i, 1);
  }
}
