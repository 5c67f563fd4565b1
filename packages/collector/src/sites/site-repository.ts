import type { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { Models } from '../models/index.js';

/** Defaults of a site's settings that its document may not hold yet. */
const DEFAULT_TIMEZONE = 'UTC';
const DEFAULT_LOOKBACK_DAYS = 30;

/**
 * Reads of the site document by the routes of every feature, one small function each (fastify/demo's
 * tasks-repository shape), typed by the model: the handlers call these and never query or cast themselves.
 * A site id is an ObjectId or its hex (the key cache's `id`).
 */
export function siteRepository({ Site }: Pick<Models, 'Site'>) {
  return {
    /** The key's site, or a 401 (deleted since its key was cached). */
    load: async (siteId: Types.ObjectId | string) => {
      const site = await Site.findById(siteId).lean();
      if (!site) throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown secret key' });
      return site;
    },
    /** The site's time zone of its days and attribution look-back, their defaults where unset. */
    settings: async (siteId: Types.ObjectId | string) => {
      const site = await Site.findById(siteId, { timezone: 1, attributionLookbackDays: 1 }).lean();
      return {
        timezone: site?.timezone ?? DEFAULT_TIMEZONE,
        attributionLookbackDays: site?.attributionLookbackDays ?? DEFAULT_LOOKBACK_DAYS,
      };
    },
    /** The site's sealed shop platform secrets, or null when there is no such site. */
    integrations: (siteId: Types.ObjectId | string) => Site.findById(siteId, { integrations: 1 }).lean(),
  };
}
