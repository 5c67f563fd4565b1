import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type Config, isClusterUrl } from '../config.js';
import { TrackMateError } from '../errors.js';

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
  const retry = (times: number) => Math.min(times * 200, 2_000);
  const common = {
    enableOfflineQueue: role === 'worker',
    // off unless asked for: ioredis's auto-pipelining threw an uncaught "results[i] is not iterable" when a
    // connection closed with commands in flight (seen in full test runs)
    enableAutoPipelining: options.autoPipelining ?? false,
    lazyConnect: false,
  };
  const perNode: RedisOptions = { maxRetriesPerRequest: role === 'worker' ? null : 1, connectTimeout: 5_000 };
  if (isClusterUrl(config.redisUrl)) {
    const cluster = new Cluster([seedNode(config.redisUrl)], {
      ...common,
      clusterRetryStrategy: retry,
      redisOptions: { ...perNode, ...clusterAuth(config.redisUrl) },
    });
    cluster.on('error', () => {});
    // same commands as a single Redis for everything TrackMate does; every key shares one hash tag (config.ts)
    return cluster as unknown as Redis;
  }
  const redis = new Redis(config.redisUrl, { ...common, ...perNode, retryStrategy: retry });
  redis.on('error', () => {});
  return redis;
}

/** The node a `redis+cluster://` URL names, from which ioredis discovers the others. */
function seedNode(redisUrl: string): { host: string; port: number } {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port) || 6379 };
}

/** User, password and TLS (`rediss+cluster:`) of every node. */
function clusterAuth(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss+cluster:' ? { tls: {} } : {}),
  };
}

/** INFO `section` of every node that holds data: the one Redis, or each master of a Cluster. */
export async function infoOfMasters(redis: Pick<Redis, 'info'>, section: string): Promise<string[]> {
  const cluster = redis as Partial<Cluster>;
  if (cluster.isCluster && cluster.nodes) {
    return Promise.all(cluster.nodes('master').map((node) => node.info(section)));
  }
  return [await redis.info(section)];
}

/** The nodes a SCAN must reach: the one Redis, or each master of a Cluster (a SCAN sent to it hits one node). */
export function scanNodes(redis: Pick<Redis, 'scan'>): Array<Pick<Redis, 'scan'>> {
  const cluster = redis as Partial<Cluster>;
  return cluster.isCluster && cluster.nodes ? cluster.nodes('master') : [redis];
}

/** SCAN + UNLINK of a pattern; on a Redis Cluster on every master. */
export async function unlinkMatching(redis: Pick<Redis, 'scan' | 'unlink'>, pattern: string): Promise<number> {
  let count = 0;
  for (const node of scanNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) count += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return count;
}

/**
 * Locks held across processes: the roll-up folder's (rollups/) and the visit closer's (analytics/), each the
 * one writer of its figures, and the unlinked-events keeper's (pipeline/); a site's deletion takes each while it
 * clears what that one writes.
 */
export const lockKeys = {
  fold: (prefix: string) => `${prefix}:rollup-folder-lock`,
  closer: (prefix: string) => `${prefix}:visit-closer-lock`,
  /** The keeper of the records of events without a profile (pipeline/unlinked-keeper.ts). */
  unlinked: (prefix: string) => `${prefix}:unlinked-keeper-lock`,
};

/** Releases a lock taken with SET NX and a token, only while the token is still the holder's. */
export const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Runs `fn` holding a Redis lock (SET NX PX with a token), waiting while another process holds it; `fn` calls
 * `extend` between long steps so that it keeps the lock.
 */
export async function withRedisLock<T>(
  redis: Pick<Redis, 'set' | 'pexpire' | 'eval'>,
  key: string,
  lockMs: number,
  fn: (extend: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const token = randomUUID();
  while (!(await redis.set(key, token, 'PX', lockMs, 'NX'))) await new Promise((r) => setTimeout(r, 250));
  try {
    return await fn(async () => {
      await redis.pexpire(key, lockMs);
    });
  } finally {
    await redis.eval(RELEASE_LOCK, 1, key, token);
  }
}

const RELEASE_LOCKS = `for i, k in ipairs(KEYS) do if redis.call('get', k) == ARGV[1] then redis.call('del', k) end end return 0`;

/**
 * Runs `work` holding a Redis lock on each of `keys` (SET NX PX, one token). All or nothing: when another holder
 * has one of them, those taken are let go and the whole set is tried again shortly, so two callers locking
 * overlapping sets never wait on each other in a cycle; after `waitMs` it gives up with an error.
 */
export async function withRedisLocks<T>(
  redis: Pick<Redis, 'set' | 'eval' | 'pipeline'>,
  keys: string[],
  work: () => Promise<T>,
  { lockMs = 30_000, waitMs = 30_000, what = 'keys' }: { lockMs?: number; waitMs?: number; what?: string } = {},
): Promise<T> {
  const sorted = [...new Set(keys)].sort();
  if (!sorted.length) return work();
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  for (;;) {
    const pipe = redis.pipeline();
    for (const k of sorted) pipe.set(k, token, 'PX', lockMs, 'NX');
    const answers = (await pipe.exec()) ?? [];
    if (answers.every(([err, ok]) => !err && ok === 'OK')) break;
    await redis.eval(RELEASE_LOCKS, sorted.length, ...sorted, token);
    if (Date.now() > deadline) {
      throw new TrackMateError('TM_ERR_INTERNAL', { message: `${what} are locked by another job` });
    }
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
  }
  try {
    return await work();
  } finally {
    await redis.eval(RELEASE_LOCKS, sorted.length, ...sorted, token);
  }
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
