import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { Routes } from '../route-kit.js';
import { checkMetricsAccess, renderMetrics, serveMetricsSeparately } from './metrics-endpoint.js';

const Readiness = Type.Object({ status: Type.String(), mongodb: Type.String(), redis: Type.String() });

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new TrackMateError('TM_ERR_NOT_READY', { message: `no answer in ${ms} ms` })), ms),
    ),
  ]);

/** Health, readiness and Prometheus metrics (with the depth and lag of every queue; see metrics-endpoint.ts). */
const opsRoutes: Routes = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'MongoDB and Redis answer',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const [mongo, redis] = await Promise.allSettled([
        within(app.mongo.db!.command({ ping: 1 }), 2_000),
        within(app.redis.ping(), 2_000),
      ]);
      const body = {
        status: mongo.status === 'fulfilled' && redis.status === 'fulfilled' ? 'ready' : 'unavailable',
        mongodb: mongo.status === 'fulfilled' ? 'ok' : 'down',
        redis: redis.status === 'fulfilled' ? 'ok' : 'down',
      };
      if (body.status !== 'ready') reply.header('retry-after', '5');
      return reply.code(body.status === 'ready' ? 200 : 503).send(body);
    },
  );

  if (app.config.metricsListen) {
    serveMetricsSeparately(app);
    return; // /metrics is on its own address, not on this one
  }
  app.get(
    '/metrics',
    {
      schema: { tags: ['operations'], summary: 'Prometheus metrics (a token, or from this machine only)' },
      onRequest: async (request) => checkMetricsAccess(app, request),
    },
    async (_request, reply) => reply.type(app.prometheus.registry.contentType).send(await renderMetrics(app)),
  );
};

export default opsRoutes;
