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
export async function profilesById(models: Pick<Models, 'Profile'>, siteId: Types.ObjectId, ids: Types.ObjectId[]) {
  const docs = await Promise.all(ids.map((_id) => models.Profile.findOne({ _id, siteId }, PERSON_FIELDS).lean()));
  return new Map(docs.flatMap((d) => (d ? [[d._id.toHexString(), d] as const] : [])));
}

/** Facts by profile id, each an `_id` lookup. */
export async function factsById(models: Pick<Models, 'ProfileFacts'>, ids: Types.ObjectId[]) {
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

/**
 * Whether one person belongs to a segment now, from their profile and facts as stored — what a delivery asks.
 * The member set follows each change a moment later (its evaluation runs after the change is stored), so a
 * delivery that read the set could still see the person's previous membership; the stored profile and facts
 * already hold every change made before the question. `null` when the segment is gone.
 */
export async function belongsNow(
  models: Models,
  siteId: Types.ObjectId,
  segmentId: Types.ObjectId,
  profileId: Types.ObjectId,
): Promise<boolean | null> {
  const segment = await models.Segment.findOne({ _id: segmentId, siteId }, { definition: 1 }).lean();
  if (!segment) return null;
  const person = (await peopleOf(models, siteId, [profileId]))[0]?.person;
  return Boolean(person && matches(segment.definition, person));
}
