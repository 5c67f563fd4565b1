import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import type { Models } from '../models/index.js';
import { lockKeys, RELEASE_LOCK, redisConnection } from '../plugins/redis.js';
import { type PendingContribution, type PendingContributions, redisContributions } from './pending-contributions.js';
import type { VisitorSketches } from './record-rollups.js';

const FOLD_LOCK_MS = 30_000;
/** Buckets folded per round. */
const FOLD_BUCKETS = 500;
/** Contributions folded per bucket and round: a bucket's `jobs` holds as many ids while it is being folded. */
const FOLD_PER_BUCKET = 2_000;
/** How long a kick waits for more contributions to fold at once. */
const KICK_DELAY_MS = 250;

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** A contribution's id in a bucket's `jobs` (as metrics_pending's `_id` was). */
const idOf = (p: PendingContribution) => `${p.bucket}|${p.jobKey}`;

/**
 * Adds pending contributions (rollups/pending-contributions.ts) to metrics_daily. Only one folder runs at a time
 * across all processes (a Redis lock), because concurrent `$inc`s on one document can be lost on FerretDB 1.24;
 * being the only writer, it may read a bucket and then update it. Each contribution counts exactly once, without
 * transactions; per bucket:
 * 1. contributions already marked folded are dropped (a late retry of their ingest job re-recorded them);
 * 2. one `$inc` of the sum of those not yet in the bucket's `jobs`, with `$push: { jobs: { $each: ids } }`,
 *    and `visitors` raised to the bucket's sketch count;
 * 3. the contributions are marked folded; 4. they are removed from the pending ones; 5. the ids leave `jobs`.
 * A crash before 3 leaves the ids in `jobs`, so step 2 of the next run skips them; after 3, step 1 does; ids a
 * crash before 5 left in `jobs` leave it with the bucket's next fold.
 * Steps 1–2 run bucket by bucket, then each of steps 3, 4 and 5 for every bucket of the round at once: each
 * bucket's steps keep their order. Answers whether more may be waiting (`limit` buckets read, or a bucket with
 * more than `perBucket` contributions, whose others wait for the next round).
 */
export async function foldPending(
  models: Pick<Models, 'MetricsDaily'>,
  contributions: PendingContributions,
  sketches: Pick<Sketches, 'count'>,
  limit = FOLD_BUCKETS,
  perBucket = FOLD_PER_BUCKET,
): Promise<boolean> {
  const daily = models.MetricsDaily;
  const buckets = await contributions.buckets(limit);
  const byBucket = await contributions.read(buckets);
  const partial = new Set<string>();
  for (const [bucket, group] of byBucket) {
    if (group.length <= perBucket) continue;
    byBucket.set(bucket, group.slice(0, perBucket));
    partial.add(bucket);
  }
  // only a retried job can re-record a contribution that was folded already (see recordRollups)
  const retried = [...byBucket.values()].flat().filter((p) => p.contribution.retry);
  const marked = await contributions.folded(retried);
  const seen = new Set(retried.filter((_, i) => marked[i]));
  const markers = new Map<string, string[]>();
  const pulls = new Map<string, string[]>();
  for (const [bucket, group] of byBucket) {
    if (!group.length) continue;
    const current = await daily.findById(bucket, { jobs: 1 }).lean();
    const inBucket = new Set(current?.jobs ?? []);
    // every id in `jobs` is pending still or was left by a crash before step 5: when all of the bucket's pending
    // ones were read, those not among them are the latter, and leave with the others in step 5
    pulls.set(bucket, partial.has(bucket) ? group.map(idOf) : [...new Set([...inBucket, ...group.map(idOf)])]);
    const apply = group.filter((p) => !seen.has(p) && !inBucket.has(idOf(p)));
    if (apply.length) {
      const sum = (k: 'count' | 'orders' | 'revenue') => apply.reduce((n, p) => n + p.contribution[k], 0);
      // codes are checked (^[A-Z]{3}$) when recorded, so each is a plain field name
      const currencies: Record<string, number> = {};
      for (const p of apply) {
        for (const [code, n] of Object.entries(p.contribution.revenueByCurrency ?? {})) {
          if (/^[A-Z]{3}$/.test(code))
            currencies[`revenueByCurrency.${code}`] = (currencies[`revenueByCurrency.${code}`] ?? 0) + n;
        }
      }
      for (const k of Object.keys(currencies)) currencies[k] = Math.round(currencies[k]! * 100) / 100;
      // a bucket is `<siteId>:<day>:<name>`: none of the three holds a colon
      const [siteId, day, name] = bucket.split(':') as [string, string, string];
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
          $push: { jobs: { $each: apply.map(idOf) } },
          $setOnInsert: { siteId, day, name },
        },
        { upsert: true },
      );
    }
    markers.set(
      bucket,
      group.filter((p) => !seen.has(p)).map((p) => p.jobKey),
    );
  }
  await contributions.markFolded(markers);
  // every bucket read, those left with nothing (a deleted site's) too, so that they leave the set of buckets
  await contributions.remove(new Map([...byBucket].map(([bucket, group]) => [bucket, group.map((p) => p.jobKey)])));
  for (const [bucket, ids] of pulls) await daily.updateOne({ _id: bucket }, { $pullAll: { jobs: ids } });
  return buckets.length === limit || partial.size > 0;
}

/**
 * Moves what a version that kept them in MongoDB left in metrics_folded and metrics_pending to Redis, then drops
 * both collections (run once per process, under the folder's lock; each is empty or gone afterwards). The markers
 * go first, and the moved contributions count as retried, so the folder checks them against the markers: one
 * folded already (or moved twice, after a crash between the copy and the drop) is not added again.
 */
export async function takeOverMongoPending(
  models: Pick<Models, 'MetricsPending' | 'MetricsFolded'>,
  contributions: PendingContributions,
  renewLock: () => Promise<unknown> = async () => {},
): Promise<number> {
  let moved = 0;
  let markers = new Map<string, string[]>();
  const flushMarkers = async () => {
    await contributions.markFolded(markers);
    markers = new Map();
    await renewLock();
  };
  for await (const { _id } of models.MetricsFolded.find({}, { _id: 1 }).lean().cursor({ batchSize: 1_000 })) {
    const cut = _id.indexOf('|');
    const bucket = _id.slice(0, cut);
    const jobKeys = markers.get(bucket);
    if (jobKeys) jobKeys.push(_id.slice(cut + 1));
    else markers.set(bucket, [_id.slice(cut + 1)]);
    if (++moved % 1_000 === 0) await flushMarkers();
  }
  await flushMarkers();
  let batch: PendingContribution[] = [];
  for await (const p of models.MetricsPending.find({}).lean().cursor({ batchSize: 1_000 })) {
    const { count, orders, revenue, revenueByCurrency } = p;
    const contribution = { count, orders, revenue, revenueByCurrency: revenueByCurrency ?? {}, retry: true };
    batch.push({ bucket: p.bucket, jobKey: p._id.slice(p.bucket.length + 1), contribution });
    if (batch.length === 1_000) {
      await contributions.add(batch);
      batch = [];
      await renewLock();
    }
    moved++;
  }
  await contributions.add(batch);
  if (moved) {
    for (const model of [models.MetricsFolded, models.MetricsPending])
      await model.collection.drop().catch((err: { codeName?: string }) => {
        if (err.codeName !== 'NamespaceNotFound') throw err;
      });
  }
  return moved;
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
  contributions: PendingContributions;
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
  const contributions = redisContributions(redis, config.queuePrefix);
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  // contributions an earlier version left in MongoDB are moved to Redis by this process's first round
  let takenOver = false;

  const renew = () => redis.eval(RENEW, 1, lockKey, token, String(FOLD_LOCK_MS));
  const runOnce = async () => {
    if (!(await redis.set(lockKey, token, 'PX', FOLD_LOCK_MS, 'NX'))) return;
    try {
      if (!takenOver) {
        await takeOverMongoPending(models, contributions, renew);
        takenOver = true;
      }
      let more: boolean;
      do {
        more = await foldPending(models, contributions, sketches);
        await renew();
      } while (more && !stopped);
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
    contributions,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (scheduled) clearTimeout(scheduled);
      await running;
      redis.disconnect();
    },
  };
}
