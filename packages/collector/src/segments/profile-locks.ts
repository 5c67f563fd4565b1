import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TrackMateError } from '../errors.js';

const LOCK_MS = 30_000;
const WAIT_MS = 30_000;
const RELEASE = `for i, k in ipairs(KEYS) do if redis.call('get', k) == ARGV[1] then redis.call('del', k) end end return 0`;

export type LockRedis = Pick<Redis, 'set' | 'eval' | 'pipeline'>;

/**
 * Runs `work` holding a Redis lock on each of the profiles' facts, so that two ingest jobs never read and write
 * one profile's facts at the same time (FerretDB 1.24 can lose concurrent updates of one document). All or
 * nothing: when another job holds one of them, those taken are let go and the whole set is tried again shortly.
 */
export async function withProfileLocks<T>(
  redis: LockRedis,
  prefix: string,
  profileIds: string[],
  work: () => Promise<T>,
): Promise<T> {
  const keys = [...new Set(profileIds)].sort().map((id) => `${prefix}:facts-lock:${id}`);
  if (!keys.length) return work();
  const token = randomUUID();
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const pipe = redis.pipeline();
    for (const k of keys) pipe.set(k, token, 'PX', LOCK_MS, 'NX');
    const answers = (await pipe.exec()) ?? [];
    if (answers.every(([err, ok]) => !err && ok === 'OK')) break;
    await redis.eval(RELEASE, keys.length, ...keys, token);
    if (Date.now() > deadline) {
      throw new TrackMateError('TM_ERR_INTERNAL', { message: 'profile facts are locked by another job' });
    }
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
  }
  try {
    return await work();
  } finally {
    await redis.eval(RELEASE, keys.length, ...keys, token);
  }
}
