import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { redisConnection } from '../lib/connections.js';
import { rawCollection } from '../lib/raw-collection.js';
import type { Models } from '../models/index.js';
import type { MetricsPendingDoc } from '../models/metrics-daily.js';

const LOCK_MS = 30_000;
/** Folded contributions are kept this long, so that an ingest job retried late still finds its own. */
const KEEP_FOLDED_MS = 2 * 86_400_000;

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Adds pending contributions (metrics_pending) to metrics_daily. Only one folder runs at a time across all
 * processes (a Redis lock), because concurrent `$inc`s on one document can be lost on FerretDB 1.24. Each
 * contribution is applied exactly once, without transactions:
 * 1. `$inc` + `$push: { jobs: id }` guarded by `jobs: { $ne: id }` (a re-run after a crash skips it);
 * 2. the contribution is marked folded; 3. its id is pulled from the bucket's `jobs`.
 */
export async function foldPending(models: Models, limit = 1_000): Promise<number> {
  const pending = rawCollection(models.MetricsPending);
  const daily = rawCollection(models.MetricsDaily);
  const docs = (await pending.find({ state: 'pending' }).sort({ at: 1 }).limit(limit).toArray()) as MetricsPendingDoc[];
  for (const p of docs) {
    try {
      await daily.updateOne(
        { _id: p.bucket, jobs: { $ne: p._id } },
        {
          $inc: { count: p.count, visitors: p.visitors, orders: p.orders, revenue: p.revenue },
          $push: { jobs: p._id },
          $setOnInsert: { siteId: p.siteId, day: p.day, name: p.name },
        },
        { upsert: true },
      );
    } catch (err) {
      // the bucket exists and already holds this contribution: applied before a crash
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    await pending.updateOne({ _id: p._id }, { $set: { state: 'folded' } });
    await daily.updateOne({ _id: p.bucket }, { $pull: { jobs: p._id } });
  }
  return docs.length;
}

export interface RollupFolder {
  /** Fold soon (called after an ingest job recorded contributions). */
  kick(): void;
  stop(): Promise<void>;
}

/** Runs foldPending under the lock: when kicked, and every `intervalMs` to pick up other processes' work. */
export function startRollupFolder(
  config: Config,
  models: Models,
  log: { warn(o: object, m: string): void },
  intervalMs = 1_000,
): RollupFolder {
  const redis: Redis = redisConnection(config, 'client');
  redis.on('error', () => {});
  const lockKey = `${config.queuePrefix}:rollup-folder-lock`;
  const token = randomUUID();
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let lastCleanup = 0;

  const runOnce = async () => {
    if (!(await redis.set(lockKey, token, 'PX', LOCK_MS, 'NX'))) return;
    try {
      let n: number;
      do {
        n = await foldPending(models);
        await redis.eval(RENEW, 1, lockKey, token, String(LOCK_MS));
      } while (n > 0 && !stopped);
      if (Date.now() - lastCleanup > 3_600_000) {
        lastCleanup = Date.now();
        await rawCollection(models.MetricsPending).deleteMany({
          state: 'folded',
          at: { $lt: new Date(Date.now() - KEEP_FOLDED_MS) },
        });
      }
    } finally {
      await redis.eval(RELEASE, 1, lockKey, token);
    }
  };
  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = runOnce()
      .catch((err) => log.warn({ err: (err as Error).message }, 'roll-up folding failed; retrying'))
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          kick();
        }
      });
  };
  const timer = setInterval(kick, intervalMs);
  timer.unref();
  return {
    kick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      redis.disconnect();
    },
  };
}
