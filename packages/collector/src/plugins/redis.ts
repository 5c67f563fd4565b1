import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import type { Config } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** General-purpose Redis (rate limits, caches, sketches); fails fast when Redis is away. */
    redis: Redis;
  }
}

/**
 * A Redis connection. Workers block on Redis and must wait through outages; clients fail fast so the API can
 * answer 503. Errors are reported through /ready and 503s; ioredis reconnects by itself.
 */
export function redisConnection(
  config: Config,
  role: 'client' | 'worker',
  options: { autoPipelining?: boolean } = {},
): Redis {
  const redis = new Redis(config.redisUrl, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    enableAutoPipelining: options.autoPipelining ?? role === 'client',
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
  redis.on('error', () => {});
  return redis;
}

export default fp(
  async function redisPlugin(app: FastifyInstance) {
    const redis = redisConnection(app.config, 'client');
    app.decorate('redis', redis);
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
  },
  { name: 'trackmate-redis' },
);
