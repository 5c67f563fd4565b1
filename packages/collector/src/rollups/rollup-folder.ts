import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import { ignoreDuplicates, type MetricsPendingDoc, type Models } from '../models/index.js';
import { lockKeys, RELEASE_LOCK, redisConnection } from '../plugins/redis.js';
import type { VisitorSketches } from './record-rollups.js';

const FOLD_LOCK_MS = 30_000;
/** Contributions read per fold round. */
const FOLD_PAGE = 2_000;
/** How long a kick waits for more contributions to fold at once. */
const KICK_DELAY_MS = 250;
/** Folded contributions are kept this long, so that an ingest job retried late still finds its own. */
const KEEP_FOLDED_MS = 2 * 86_400_000;

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Adds pending contributions (metrics_pending) to metrics_daily. Only one folder runs at a time across all
 * processes (a Redis lock), because concurrent `$inc`s on one document can be lost on FerretDB 1.24; being
 * the only writer, it may read a bucket and then update it. Each contribution counts exactly once, without
 * transactions; per bucket:
 * 1. contributions already in metrics_folded are dropped (a late retry of their ingest job re-recorded them);
 * 2. one `$inc` of the sum of those not yet in the bucket's `jobs`, with `$push: { jobs: { $each: ids } }`,
 *    and `visitors` raised to the bucket's sketch count;
 * 3. the ids go to metrics_folded; 4. the pending documents are deleted; 5. the ids leave `jobs`.
 * A crash before 3 leaves the ids in `jobs`, so step 2 of the next run skips them; after 3, step 1 does.
 * Steps 1–3 run bucket by bucket, then step 4 for every bucket of the round at once (one delete: on FerretDB
 * each is a pass over metrics_pending), then step 5: each bucket's steps keep their order.
 */
export async function foldPending(models: Models, sketches: Pick<Sketches, 'count'>, limit = 2_000): Promise<number> {
  const { MetricsPending: pending, MetricsDaily: daily, MetricsFolded: folded } = models;
  const docs = await pending.find({}).limit(limit).lean();
  const byBucket = new Map<string, MetricsPendingDoc[]>();
  for (const p of docs) byBucket.set(p.bucket, [...(byBucket.get(p.bucket) ?? []), p]);
  const markers: Array<{ _id: string; at: Date }> = [];
  for (const [bucket, group] of byBucket) {
    // only a retried job can re-record a contribution that was folded already (see recordRollups)
    const seen = await Promise.all(group.map((p) => (p.retry ? folded.exists({ _id: p._id }) : null)));
    const current = await daily.findById(bucket, { jobs: 1 }).lean();
    const inBucket = new Set(current?.jobs ?? []);
    const apply = group.filter((p, i) => !seen[i] && !inBucket.has(p._id));
    if (apply.length) {
      const sum = (k: 'count' | 'orders' | 'revenue') => apply.reduce((n, p) => n + p[k], 0);
      const first = apply[0]!;
      // codes are checked (^[A-Z]{3}$) when recorded, so each is a plain field name
      const currencies: Record<string, number> = {};
      for (const p of apply) {
        for (const [code, n] of Object.entries(p.revenueByCurrency ?? {})) {
          if (/^[A-Z]{3}$/.test(code))
            currencies[`revenueByCurrency.${code}`] = (currencies[`revenueByCurrency.${code}`] ?? 0) + n;
        }
      }
      for (const k of Object.keys(currencies)) currencies[k] = Math.round(currencies[k]! * 100) / 100;
      await daily.updateOne(
        { _id: bucket },
        {
          $inc: {
            count: sum('count'),
            orders: sum('orders'),
            revenue: Math.round(sum('revenue') * 100) / 100,
            ...currencies,
          },
          $max: { visitors: await sketches.count(bucket) },
          $push: { jobs: { $each: apply.map((p) => p._id) } },
          $setOnInsert: { siteId: first.siteId, day: first.day, name: first.name },
        },
        { upsert: true },
      );
    }
    const at = new Date();
    for (const [i, p] of group.entries()) if (!seen[i]) markers.push({ _id: p._id, at });
  }
  if (markers.length) await folded.insertMany(markers, { ordered: false, lean: true }).catch(ignoreDuplicates);
  if (docs.length) await pending.deleteMany({ _id: { $in: docs.map((p) => p._id) } });
  for (const [bucket, group] of byBucket) {
    await daily.updateOne({ _id: bucket }, { $pullAll: { jobs: group.map((p) => p._id) } });
  }
  return docs.length;
}

/** Distinct visitors per bucket: Redis HyperLogLogs (standard error 0.81 %, exact in practice for small counts). */
export interface Sketches extends VisitorSketches {
  count(bucket: string): Promise<number>;
}

/** Keys live 40 days after their last write; later, a bucket's visitors keep the highest count they reached. */
const SKETCH_TTL_S = 40 * 86_400;

export function redisSketches(redis: Redis, prefix: string): Sketches {
  const key = (bucket: string) => `${prefix}:visitors:${bucket}`;
  return {
    async add(visitorsByBucket) {
      if (!visitorsByBucket.size) return;
      const pipeline = redis.pipeline();
      for (const [bucket, visitors] of visitorsByBucket) {
        pipeline.pfadd(key(bucket), ...visitors);
        pipeline.expire(key(bucket), SKETCH_TTL_S);
      }
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async count(bucket) {
      return redis.pfcount(key(bucket));
    },
  };
}

export interface RollupFolder {
  /** Fold soon (called after an ingest job recorded contributions). */
  kick(): void;
  sketches: Sketches;
  stop(): Promise<void>;
}

/** Runs foldPending under the lock: when kicked, and every `intervalMs` to pick up other processes' work. */
export function startRollupFolder(
  config: Config,
  models: Models,
  log: { warn(o: object, m: string): void },
  intervalMs = 1_000,
): RollupFolder {
  // worker role: its commands wait for the connection (and through an outage) instead of failing at once
  const redis: Redis = redisConnection(config, 'worker');
  const lockKey = lockKeys.fold(config.queuePrefix);
  const token = randomUUID();
  const sketches = redisSketches(redis, config.queuePrefix);
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let lastCleanup = 0;

  const runOnce = async () => {
    if (!(await redis.set(lockKey, token, 'PX', FOLD_LOCK_MS, 'NX'))) return;
    try {
      let n: number;
      do {
        n = await foldPending(models, sketches, FOLD_PAGE);
        await redis.eval(RENEW, 1, lockKey, token, String(FOLD_LOCK_MS));
      } while (n === FOLD_PAGE && !stopped); // a full page: more is waiting
      if (Date.now() - lastCleanup > 3_600_000) {
        lastCleanup = Date.now();
        await models.MetricsFolded.deleteMany({ at: { $lt: new Date(Date.now() - KEEP_FOLDED_MS) } });
      }
    } finally {
      await redis.eval(RELEASE_LOCK, 1, lockKey, token);
    }
  };
  // Kicks within KICK_DELAY_MS are one fold: each fold costs a few writes per bucket whatever it adds up, so
  // folding many jobs' contributions at once keeps the database's write load per stored event low.
  let scheduled: NodeJS.Timeout | null = null;
  const kick = () => {
    if (stopped || scheduled) return;
    if (running) {
      again = true;
      return;
    }
    scheduled = setTimeout(run, KICK_DELAY_MS);
  };
  const run = () => {
    scheduled = null;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = runOnce()
      .catch((err) => log.warn({ err: loggable(err) }, 'roll-up folding failed; retrying'))
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
    sketches,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (scheduled) clearTimeout(scheduled);
      await running;
      redis.disconnect();
    },
  };
}
