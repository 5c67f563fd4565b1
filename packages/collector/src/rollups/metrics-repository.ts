import type { Types } from 'mongoose';
import type { Models } from '../models/index.js';

const DAY_MS = 86_400_000;

/** A range of UTC days, YYYY-MM-DD, both included. */
export interface DayRange {
  from: string;
  to: string;
}

/**
 * The metrics routes' reads, one small function each (fastify/demo's tasks-repository shape), typed by the
 * models and scoped to the key's site: the handlers call these and never query, convert or cast themselves.
 */
export function metricsRepository({ MetricsDaily, Event }: Pick<Models, 'MetricsDaily' | 'Event'>) {
  return {
    /** The site's daily roll-up rows over a range, of the given event names or all. */
    buckets: (siteId: Types.ObjectId, range: DayRange, names?: string[]) =>
      MetricsDaily.find(
        // the roll-ups key a site by its id's hex
        {
          siteId: siteId.toHexString(),
          day: { $gte: range.from, $lte: range.to },
          ...(names ? { name: { $in: names } } : {}),
        },
        { jobs: 0 },
      ).lean(),
    /**
     * The most viewed page URLs over a range, counted from the stored page_view events (index siteId + name +
     * timestamp), as roll-ups are per event name; most viewed first, then by URL.
     */
    topPages: async (siteId: Types.ObjectId, range: DayRange, limit: number) => {
      const rows = await Event.aggregate<{ _id: unknown; views: number }>([
        {
          $match: {
            siteId,
            name: 'page_view',
            timestamp: {
              $gte: new Date(`${range.from}T00:00:00Z`),
              $lt: new Date(Date.parse(`${range.to}T00:00:00Z`) + DAY_MS),
            },
          },
        },
        { $group: { _id: '$properties.url', views: { $sum: 1 } } },
        { $sort: { views: -1, _id: 1 } },
        { $limit: limit },
      ]);
      return rows.flatMap((r) => (typeof r._id === 'string' ? [{ url: r._id, views: r.views }] : []));
    },
  };
}
