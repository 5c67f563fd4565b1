import { TopPages } from '@trackmate/schema';
import { Type } from 'typebox';
import { errorReplies, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { Day, dayRange } from './metrics-routes.js';

const DAY_MS = 86_400_000;

/**
 * `GET /api/metrics/top-pages`: the most viewed page URLs over a day range. Unlike the other metrics this is
 * counted from the stored page_view events (index siteId + name + timestamp), as roll-ups are per event name.
 */
const topPagesRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);

  app.get(
    '/api/metrics/top-pages',
    {
      schema: {
        tags: ['metrics'],
        security: [{ secretKey: [] }],
        summary: 'The most viewed page URLs (page_view events) over a day range, default the last 30 days',
        querystring: Type.Object({ from: Type.Optional(Day), to: Type.Optional(Day), limit: Limit }),
        response: { 200: TopPages, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const range = dayRange(request.query);
      const limit = parseLimit(request.query.limit, 10, 100);
      const rows = await app.models.Event.aggregate<{ _id: unknown; views: number }>([
        {
          $match: {
            siteId: siteIdOf(request),
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
      return {
        ...range,
        pages: rows.flatMap((r) => (typeof r._id === 'string' ? [{ url: r._id, views: r.views }] : [])),
      };
    },
  );
};

export default topPagesRoutes;
