import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import type { Config } from '../config.js';
import { createModels, type Models } from '../models/index.js';

export interface Connections {
  mongo: Connection;
  models: Models;
  /** General-purpose Redis (rate limits, caches); fails fast when Redis is away. */
  redis: Redis;
  close(): Promise<void>;
}

export function redisConnection(
  config: Config,
  role: 'client' | 'worker',
  options: { autoPipelining?: boolean } = {},
): Redis {
  return new Redis(config.redisUrl, {
    // Workers block on Redis and must wait through outages; clients must fail fast so the API can answer 503.
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    enableAutoPipelining: options.autoPipelining ?? role === 'client',
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
}

export async function openConnections(config: Config): Promise<Connections> {
  const mongo = mongoose.createConnection(config.mongodbUri, {
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 20,
    autoIndex: false,
    autoCreate: false,
  });
  await mongo.asPromise();
  const models = createModels(mongo);
  const redis = redisConnection(config, 'client');
  redis.on('error', () => {}); // reported through /ready and 503s; ioredis reconnects by itself
  return {
    mongo,
    models,
    redis,
    async close() {
      redis.disconnect();
      await mongo.close();
    },
  };
}
