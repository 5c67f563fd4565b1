import type { Redis } from 'ioredis';
import { withRedisLocks } from '../plugins/redis.js';

export type LockRedis = Pick<Redis, 'set' | 'eval' | 'pipeline'>;

/**
 * Runs `work` holding a Redis lock on each of the profiles' facts, so that two ingest jobs never read and write
 * one profile's facts at the same time (FerretDB 1.24 can lose concurrent updates of one document). All or
 * nothing: when another job holds one of them, those taken are let go and the whole set is tried again shortly.
 */
export function withProfileLocks<T>(
  redis: LockRedis,
  prefix: string,
  profileIds: string[],
  work: () => Promise<T>,
): Promise<T> {
  return withRedisLocks(
    redis,
    profileIds.map((id) => `${prefix}:facts-lock:${id}`),
    work,
    { what: 'profile facts' },
  );
}
