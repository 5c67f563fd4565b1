import type { Types } from 'mongoose';
import type { Models, ProfileFactsDoc, SegmentDoc } from '../models/index.js';
import { matches, type PersonView } from './rules.js';

/** Each site's segments (site id → segments); the workers cache them (SiteConfigCache). */
export type SiteSegments = (siteIds: string[]) => Promise<Map<string, SegmentDoc[]>>;

export const loadSegments =
  (models: Models): SiteSegments =>
  async (siteIds) => {
    const out = new Map<string, SegmentDoc[]>();
    for (const siteId of siteIds) out.set(siteId, await models.Segment.find({ siteId }).lean());
    return out;
  };

const PERSON_FIELDS = { email: 1, consent: 1, metadata: 1, firstName: 1, lastName: 1 } as const;

/** Profiles by id, each an `_id` lookup (FerretDB answers `$in` by scanning the collection). */
export async function profilesById(models: Models, siteId: Types.ObjectId, ids: Types.ObjectId[]) {
  const docs = await Promise.all(ids.map((_id) => models.Profile.findOne({ _id, siteId }, PERSON_FIELDS).lean()));
  return new Map(docs.flatMap((d) => (d ? [[d._id.toHexString(), d] as const] : [])));
}

/** Facts by profile id, each an `_id` lookup. */
export async function factsById(models: Models, ids: Types.ObjectId[]) {
  const docs = await Promise.all(ids.map((_id) => models.ProfileFacts.findById(_id).lean()));
  return new Map(docs.flatMap((d) => (d ? [[d._id.toHexString(), d] as const] : [])));
}

/** The membership of each person in each segment, now (a profile that no longer exists belongs nowhere). */
export function evaluate(
  segments: SegmentDoc[],
  people: Array<{ profileId: string; person: PersonView | null }>,
  now = new Date(),
) {
  return segments.flatMap((s) =>
    people.map(({ profileId, person }) => ({
      segmentId: s._id.toHexString(),
      profileId,
      member: person !== null && matches(s.definition, person, now),
    })),
  );
}

/** People of one site as segments see them: profile plus facts (`facts` given when the caller has them). */
export async function peopleOf(
  models: Models,
  siteId: Types.ObjectId,
  ids: Types.ObjectId[],
  known?: Map<string, ProfileFactsDoc>,
): Promise<Array<{ profileId: string; person: PersonView | null }>> {
  const [profiles, facts] = await Promise.all([
    profilesById(models, siteId, ids),
    known ? Promise.resolve(known) : factsById(models, ids),
  ]);
  return ids.map((id) => {
    const key = id.toHexString();
    const profile = profiles.get(key);
    return { profileId: key, person: profile ? { profile, facts: facts.get(key) ?? null } : null };
  });
}
