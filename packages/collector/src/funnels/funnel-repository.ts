import type { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { FunnelDoc, Models } from '../models/index.js';
import { parseId } from '../route-kit.js';

/**
 * The saved-funnel routes' reads and writes, one small function each (fastify/demo's tasks-repository shape),
 * typed by the models and scoped to the key's site: the handlers call these and never query, convert or cast.
 */
export function funnelRepository({ Funnel }: Pick<Models, 'Funnel'>) {
  return {
    /** One saved funnel of the site: a bad id is a 400, another site's or a missing one a 404. */
    load: async (siteId: Types.ObjectId, id: string) => {
      const f = await Funnel.findOne({ _id: parseId(id, 'funnel id'), siteId }).lean();
      if (!f) throw new TrackMateError('TM_ERR_NOT_FOUND', { message: 'No such funnel' });
      return f;
    },
    /** The site's saved funnels, oldest first. */
    list: (siteId: Types.ObjectId) => Funnel.find({ siteId }).sort({ createdAt: 1 }).lean(),
    count: (siteId: Types.ObjectId) => Funnel.countDocuments({ siteId }),
    create: async (doc: Omit<FunnelDoc, '_id'>) => (await Funnel.create(doc)).toObject(),
    rename: (f: Pick<FunnelDoc, '_id'>, name: string) => Funnel.updateOne({ _id: f._id }, { $set: { name } }),
    remove: (f: Pick<FunnelDoc, '_id'>) => Funnel.deleteOne({ _id: f._id }),
  };
}
