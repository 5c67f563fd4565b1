import { Types } from 'mongoose';
import type { CampaignDoc, Models } from '../models/index.js';
import { siteScoped } from '../route-kit.js';

/**
 * The broadcast routes' reads and writes, one small function each (fastify/demo's tasks-repository shape), typed
 * by the models and scoped to the key's site: the handlers call these and never query, convert or cast themselves.
 */
export function campaignRepository({ Campaign, Profile }: Pick<Models, 'Campaign' | 'Profile'>) {
  return {
    /** One broadcast of the site: a bad id is a 400, another site's or a missing one a 404. */
    load: siteScoped<CampaignDoc>(Campaign, 'campaign'),
    /** The site's broadcasts, newest first (at most 500). */
    list: (siteId: Types.ObjectId) => Campaign.find({ siteId }).sort({ _id: -1 }).limit(500).lean(),
    create: async (doc: Omit<CampaignDoc, '_id'>) => (await Campaign.create(doc)).toObject(),
    /** Sets `set` on a broadcast that is in one of the states `from`; false when it is in another. */
    move: async (c: Pick<CampaignDoc, '_id' | 'siteId'>, from: CampaignDoc['status'][], set: Partial<CampaignDoc>) =>
      (await Campaign.updateOne({ _id: c._id, siteId: c.siteId, status: { $in: from } }, { $set: set })).matchedCount >
      0,
    /** Deletes a broadcast unless it is sending; false when it is. */
    removeUnlessSending: async (c: Pick<CampaignDoc, '_id'>) =>
      (await Campaign.deleteOne({ _id: c._id, status: { $ne: 'sending' } })).deletedCount > 0,
    /** A profile of the broadcast's site to fill its templates with, or null. */
    profile: (c: Pick<CampaignDoc, 'siteId'>, id: Types.ObjectId) =>
      Profile.findOne({ _id: id, siteId: c.siteId }).lean(),
    /** Whether a tracked link's person is still a profile of its site (hex ids, checked when the link was read). */
    linkedProfileExists: async (siteId: string, profileId: string) =>
      (await Profile.exists({ _id: new Types.ObjectId(profileId), siteId: new Types.ObjectId(siteId) })) !== null,
  };
}
