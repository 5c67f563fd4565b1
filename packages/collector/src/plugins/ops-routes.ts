import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { QUEUE_NAMES } from './queues.js';

/** Health, readiness and Prometheus metrics. */
export default async function opsRoutes(app: FastifyInstance) {
  app.get(
    '/health',
    { schema: { tags: ['operations'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'MongoDB and Redis answer',
        response: {
          200: Type.Object({ status: Type.String(), mongodb: Type.String(), redis: Type.String() }),
          503: Type.Object({ status: Type.String(), mongodb: Type.String(), redis: Type.String() }),
        },
      },
    },
    async (_request, reply) => {
      const within = <T>(p: Promise<T>) =>
        Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000))]);
      const [mongo, redis] = await Promise.allSettled([
        within(app.mongo.db!.command({ ping: 1 })),
        within(app.redis.ping()),
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

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    try {
      const counts = await Promise.race([
        app.queues.ingest.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000)),
      ]);
      for (const [state, n] of Object.entries(counts)) app.metrics.queueDepth.set({ queue: QUEUE_NAMES.ingest, state }, n);
    } catch {
      // Redis away: the gauges keep their last values; /ready says why
    }
    return reply.type(app.metrics.registry.contentType).send(await app.metrics.registry.metrics());
  });
}
