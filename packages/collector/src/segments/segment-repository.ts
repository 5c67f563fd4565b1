import { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { Models, SegmentDoc } from '../models/index.js';
import { parseId, siteScoped } from '../route-kit.js';
import { factsById, profilesById } from './evaluate.js';

/**
 * The segment routes' reads and writes, one small function each (fastify/demo's tasks-repository shape), typed
 * by the models and scoped to the key's site: the handlers call these and never query, convert or cast themselves.
 */
export function segmentRepository(models: Pick<Models, 'Segment' | 'Profile' | 'ProfileFacts'>) {
  const { Segment } = models;
  return {
    /** One segment of the site: a bad id is a 400, another site's or a missing one a 404. */
    load: siteScoped<SegmentDoc>(Segment, 'segment'),
    /** The site's segments, oldest first (at most 1,000). */
    list: (siteId: Types.ObjectId) => Segment.find({ siteId }).sort({ _id: 1 }).limit(1_000).lean(),
    create: async (doc: Omit<SegmentDoc, '_id'>) => (await Segment.create(doc)).toObject(),
    update: (segment: Pick<SegmentDoc, '_id' | 'siteId'>, set: Partial<SegmentDoc>) =>
      Segment.updateOne({ _id: segment._id, siteId: segment.siteId }, { $set: set }),
    remove: (segment: Pick<SegmentDoc, '_id'>) => Segment.deleteOne({ _id: segment._id }),
    /** Members by id (as the member sets hold them): their profiles and facts, keyed by the id's hex. */
    members: async (siteId: Types.ObjectId, ids: string[]) => {
      const oids = ids.map((id) => new Types.ObjectId(id));
      const [profiles, facts] = await Promise.all([profilesById(models, siteId, oids), factsById(models, oids)]);
      return { profiles, facts };
    },
  };
}

/**
 * A segment of the site named by an audience id (triggers, broadcasts): its id, or a 400 when the site has no
 * such segment. A bad id is a 400 too.
 */
export async function segmentOfSite(
  { Segment }: Pick<Models, 'Segment'>,
  siteId: Types.ObjectId,
  id: string,
): Promise<Types.ObjectId> {
  const _id = parseId(id, 'segment id');
  if (!(await Segment.exists({ _id, siteId }))) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `No segment ${id} in this site` });
  }
  return _id;
}
