import type { Redis } from 'ioredis';
import type { ProfileDoc } from '../models/index.js';
import { withRedisLocks } from '../plugins/redis.js';

/**
 * Runs `work` holding the locks of the profile documents named by `keys` (profileKey's `u|<userKey>` and
 * `e|<emailKey>`). FerretDB 1.24 loses one of two concurrent updates of one document even when they set different
 * fields (it writes the whole document back): an ingest job's profile upsert or consent and a profile API change
 * of the same person take these locks, so neither overwrites the other.
 */
export type ProfileDocLock = <T>(keys: string[], work: () => Promise<T>) => Promise<T>;

export const profileDocLock =
  (redis: Pick<Redis, 'set' | 'eval' | 'pipeline'>, prefix: string): ProfileDocLock =>
  (keys, work) =>
    withRedisLocks(
      redis,
      keys.map((k) => `${prefix}:profile-lock:${k}`),
      work,
      { what: 'profiles' },
    );

/** The lock keys of a stored profile: by its userId and by its e-mail, as the ingest's upserts find it. */
export const lockKeysOf = (p: Pick<ProfileDoc, 'userKey' | 'emailKey'>) => [
  ...(p.userKey ? [`u|${p.userKey}`] : []),
  ...(p.emailKey ? [`e|${p.emailKey}`] : []),
];
