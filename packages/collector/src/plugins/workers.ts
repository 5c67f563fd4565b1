import type { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Config } from '../config.js';
import { EnqueueBatcher } from '../ingest/enqueue-batcher.js';
import { closeJobQueues, createJobHooks, createJobQueues, createJobWorkers, type JobQueues } from './background-jobs.js';
import { type RollupFolder, startRollupFolder } from '../rollups/rollup-folder.js';
import { openConnections } from './connections.js';
import type { Metrics } from './prometheus.js';
import { closeQueue, createQueue, QUEUE_NAMES } from './queues.js';
import { RateLimiter } from '../ingest/rate-limits.js';
import { loadSigningSecret } from '../campaigns/unsubscribe-links.js';
import { SiteCache } from '../sites/key-cache.js';
import { migrate, type Models } from '../models/index.js';
import { closeWorker, createIngestWorker } from '../pipeline/ingest-worker.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    metrics: Metrics;
    mongo: Connection;
    models: Models;
    redis: Redis;
    queues: { ingest: Queue };
    batcher: EnqueueBatcher;
    sites: SiteCache;
    rateLimiter: RateLimiter;
    /** Background workers running in this process (none with --no-worker). */
    workers: Worker[];
    /** Trigger delays and webhook deliveries. */
    jobQueues: JobQueues;
    /** HMAC key of unsubscribe links (lib/signing.ts). */
    signingSecret: string;
  }
}

export interface ServicesOptions {
  /** Run the ingest worker in this process. */
  worker: boolean;
}

/** MongoDB models, Redis, queues and (optionally) workers, opened at start and closed gracefully. */
export default fp(
  async function services(app: FastifyInstance, opts: ServicesOptions) {
    const { config } = app;
    const conns = await openConnections(config);
    await migrate(conns.models);
    const ingest = createQueue(config, QUEUE_NAMES.ingest);
    app.decorate('mongo', conns.mongo);
    app.decorate('models', conns.models);
    app.decorate('redis', conns.redis);
    app.decorate('queues', { ingest });
    const jobQueues = createJobQueues(config);
    app.decorate('jobQueues', jobQueues);
    app.decorate('signingSecret', await loadSigningSecret(conns.models, config));
    app.decorate('batcher', new EnqueueBatcher(ingest));
    app.decorate('sites', new SiteCache(conns.models));
    app.decorate(
      'rateLimiter',
      new RateLimiter(conns.redis, config.queuePrefix, { perKey: config.rateLimitPerKey, perIp: config.rateLimitPerIp }),
    );
    app.decorate('workers', [] as Worker[]);
    let folder: RollupFolder | undefined;
    if (opts.worker) {
      folder = startRollupFolder(config, conns.models, app.log);
      const hooks = [createJobHooks(jobQueues, folder)];
      app.workers.push(createIngestWorker({ config, models: conns.models, log: app.log, metrics: app.metrics, hooks }));
      app.workers.push(...createJobWorkers({ config, models: conns.models, queues: jobQueues, signingSecret: app.signingSecret, log: app.log }));
    }

    // Graceful shutdown: requests in flight finish first (fastify), then queued writes, then jobs, then connections.
    app.addHook('onClose', async () => {
      await app.batcher.drain();
      await Promise.all(app.workers.map((w) => closeWorker(w)));
      await closeQueue(ingest);
      await closeJobQueues(jobQueues);
      await folder?.stop();
      await conns.close();
    });
  },
  { name: 'trackmate-services', dependencies: [] },
);
