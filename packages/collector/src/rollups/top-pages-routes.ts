import { TopPages } from '@trackmate/schema';
import { Type } from 'typebox';
import { errorReplies, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { metricsRepository } from './metrics-repository.js';
import { Day, dayRange } from './metrics-routes.js';

/**
 * `GET /api/metrics/top-pages`: the most viewed page URLs over a day range. Unlike the other metrics this is
 * counted from the stored page_view events (metrics-repository.ts), as roll-ups are per event name.
 */
const topPagesRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const metrics = metricsRepository(app.models);

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
      return {
        ...range,
        pages: await metrics.topPages(siteIdOf(request), range, limit),
      };
    },
  );
};

export default topPagesRoutes;
