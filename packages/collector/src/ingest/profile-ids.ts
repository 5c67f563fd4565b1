import type { Models } from '../models/index.js';
import type { Validated } from './validate-client.js';

/**
 * A profileId must name a profile of the key's site: an event naming any other (another site's person, a
 * guessed id) is rejected with a reason, never stored or linked. Events carrying a profile to upsert are
 * linked by it instead. One query for the whole request, and none (undefined, no promise) when no event names a
 * profile.
 */
export function rejectForeignProfileIds(models: Models, siteId: string, v: Validated): Promise<void> | undefined {
  if (!v.events.some((e) => e.profileId && !e.profile)) return undefined;
  const wanted = new Set(v.events.flatMap((e) => (e.profileId && !e.profile ? [e.profileId] : [])));
  return rejectUnknown(models, siteId, v, [...wanted]);
}

async function rejectUnknown(models: Models, siteId: string, v: Validated, wanted: string[]): Promise<void> {
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
