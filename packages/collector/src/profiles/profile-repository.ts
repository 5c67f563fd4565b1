import type { QueryFilter, Types, UpdateQuery } from 'mongoose';
import type { Models, ProfileDoc } from '../models/index.js';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The profile routes' reads and writes of profiles, one small function each (fastify/demo's tasks-repository
 * shape), typed by the model and scoped to the key's site: the handlers call these and never query or cast.
 * Loading one person (following merges) is person-data.ts's `profileOf`.
 */
export function profileRepository({ Profile }: Pick<Models, 'Profile'>) {
  return {
    /**
     * A page of the site's profiles, newest first, after `before` (the last id of the previous page), found by
     * normalised e-mail or userId or all; one more than `limit` when there is a next page.
     */
    page: (
      siteId: Types.ObjectId,
      { email, userId, before, limit }: { email?: string; userId?: string; before?: Types.ObjectId; limit: number },
    ) => {
      const filter: QueryFilter<ProfileDoc> = { siteId };
      if (email !== undefined) filter.email = email;
      if (userId !== undefined) filter.userId = userId;
      if (before) filter._id = { $lt: before };
      return Profile.find(filter)
        .sort({ _id: -1 })
        .limit(limit + 1)
        .lean();
    },
    /**
     * Profiles whose e-mail starts with `prefix` (lower case), in e-mail order: an anchored prefix, so the
     * (siteId, email) index answers it.
     */
    searchByEmail: (siteId: Types.ObjectId, prefix: string, limit: number) =>
      Profile.find({ siteId, email: { $regex: `^${escapeRegExp(prefix)}` } })
        .sort({ email: 1 })
        .limit(limit)
        .lean(),
    update: (profile: Pick<ProfileDoc, '_id' | 'siteId'>, update: UpdateQuery<ProfileDoc>) =>
      Profile.updateOne({ _id: profile._id, siteId: profile.siteId }, update),
  };
}
