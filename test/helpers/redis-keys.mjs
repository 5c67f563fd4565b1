// What a test run leaves in Redis, removed: every key under the run's queue prefix (queues, rate limits,
// caches). Shared by every package's test harness, as the Chromium launcher beside it is.
import { Redis } from 'ioredis';

/** Deletes every key `prefix:*` of a single Redis; a Redis that is down has nothing to remove now. */
export async function removeRedisKeys(url, prefix) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // Redis is down (the tests that stop it): nothing to remove from it now
  } finally {
    redis.disconnect();
  }
}

/** The number of keys `prefix:*`, for tests of the clean-up itself. */
export async function countRedisKeys(url, prefix) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      n += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return n;
  } finally {
    redis.disconnect();
  }
}
