import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { Routes } from '../route-kit.js';

const Readiness = Type.Object({ status: Type.String(), mongodb: Type.String(), redis: Type.String() });

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new TrackMateError('TM_ERR_NOT_READY', { message: `no answer in ${ms} ms` })), ms),
    ),
  ]);

/** Health, readiness and Prometheus metrics (with the depth and lag of every queue). */
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

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    await Promise.all(
      Object.entries(app.queues).map(async ([name, queue]) => {
        try {
          const [counts, oldest] = await within(
            Promise.all([
              queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
              queue.getJobs(['waiting', 'prioritized'], 0, 0, true),
            ]),
            1_000,
          );
          for (const [state, n] of Object.entries(counts)) app.prometheus.queueDepth.set({ queue: name, state }, n);
          const age = oldest[0] ? Math.max(0, (Date.now() - oldest[0].timestamp) / 1000) : 0;
          app.prometheus.queueOldestAge.set({ queue: name }, age);
        } catch {
          // Redis away: the gauges keep their last values; /ready says why
        }
      }),
    );
    return reply.type(app.prometheus.registry.contentType).send(await app.prometheus.registry.metrics());
  });
};

export default opsRoutes;
