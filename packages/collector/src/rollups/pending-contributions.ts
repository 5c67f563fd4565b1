import type { ChainableCommander, Redis } from 'ioredis';

/** What one ingest job adds to one bucket (`<siteId>:<day>:<name>`). */
export interface Contribution {
  count: number;
  orders: number;
  revenue: number;
  revenueByCurrency: Record<string, number>;
  /** Recorded by a retried job: the folder checks the folded markers before adding it. */
  retry: boolean;
}

export interface PendingContribution {
  bucket: string;
  jobKey: string;
  contribution: Contribution;
}

/**
 * Contributions waiting to be folded into metrics_daily, and markers of those folded, in Redis (beside the
 * ingest jobs that make them, so a contribution is as durable as its job: see docs/production.md, Redis).
 * Keys, under the queue prefix:
 * - `rollup-pending:<bucket>`: a hash, job key → the contribution (JSON), written only if the field is absent;
 * - `rollup-buckets`: the set of buckets whose hash may hold contributions (how the folder finds its work);
 * - `rollup-folded:<bucket>`: a set of the job keys folded into the bucket, kept 2 days after its last fold, so
 *   that a late retry of an ingest job finds its own.
 * A site's deletion unlinks its `rollup-pending:<siteId>:*` and `rollup-folded:<siteId>:*` keys under the folder's
 * lock; the folder then drops its buckets from the set when it finds their hashes gone.
 */
export interface PendingContributions {
  /** Records contributions, each unless its job's is already pending in that bucket; all or none (MULTI). */
  add(entries: readonly PendingContribution[]): Promise<void>;
  /** Whether each (bucket, job key) was folded in the last 2 days. */
  folded(entries: ReadonlyArray<{ bucket: string; jobKey: string }>): Promise<boolean[]>;
  /** Up to `limit` buckets with pending work. */
  buckets(limit: number): Promise<string[]>;
  /** Each bucket's pending contributions (none when its hash is gone). */
  read(buckets: readonly string[]): Promise<Map<string, PendingContribution[]>>;
  /** Records the job keys as folded into their buckets. */
  markFolded(jobKeysByBucket: ReadonlyMap<string, string[]>): Promise<void>;
  /** Removes the contributions; a bucket left with none leaves the set of buckets (atomically, per bucket). */
  remove(jobKeysByBucket: ReadonlyMap<string, string[]>): Promise<void>;
}

/** Folded markers are kept this long after a bucket's last fold, so that an ingest job retried late finds its own. */
export const KEEP_FOLDED_S = 2 * 86_400;

/** KEYS: the bucket's hash, the set of buckets. ARGV: the bucket, then the job keys to remove. */
const REMOVE = `for i = 2, #ARGV do redis.call('hdel', KEYS[1], ARGV[i]) end
if redis.call('exists', KEYS[1]) == 0 then redis.call('srem', KEYS[2], ARGV[1]) end
return 0`;

async function run(batch: ChainableCommander) {
  const results = await batch.exec();
  if (!results) throw new Error('roll-up contributions: transaction aborted');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}

export function redisContributions(redis: Redis, prefix: string): PendingContributions {
  const pendingKey = (bucket: string) => `${prefix}:rollup-pending:${bucket}`;
  const foldedKey = (bucket: string) => `${prefix}:rollup-folded:${bucket}`;
  const bucketsKey = `${prefix}:rollup-buckets`;
  return {
    async add(entries) {
      if (!entries.length) return;
      const multi = redis.multi();
      for (const { bucket, jobKey, contribution } of entries)
        multi.hsetnx(pendingKey(bucket), jobKey, JSON.stringify(contribution));
      multi.sadd(bucketsKey, ...new Set(entries.map((e) => e.bucket)));
      await run(multi);
    },
    async folded(entries) {
      if (!entries.length) return [];
      const pipeline = redis.pipeline();
      for (const { bucket, jobKey } of entries) pipeline.sismember(foldedKey(bucket), jobKey);
      return (await run(pipeline)).map((n) => n === 1);
    },
    async buckets(limit) {
      return redis.srandmember(bucketsKey, limit);
    },
    async read(buckets) {
      const out = new Map<string, PendingContribution[]>();
      if (!buckets.length) return out;
      const pipeline = redis.pipeline();
      for (const bucket of buckets) pipeline.hgetall(pendingKey(bucket));
      const hashes = (await run(pipeline)) as Array<Record<string, string>>;
      for (const [i, bucket] of buckets.entries()) {
        out.set(
          bucket,
          Object.entries(hashes[i]!).map(([jobKey, json]) => ({
            bucket,
            jobKey,
            contribution: JSON.parse(json) as Contribution,
          })),
        );
      }
      return out;
    },
    async markFolded(jobKeysByBucket) {
      const pipeline = redis.pipeline();
      for (const [bucket, jobKeys] of jobKeysByBucket) {
        if (!jobKeys.length) continue;
        pipeline.sadd(foldedKey(bucket), ...jobKeys);
        pipeline.expire(foldedKey(bucket), KEEP_FOLDED_S);
      }
      if (pipeline.length) await run(pipeline);
    },
    async remove(jobKeysByBucket) {
      const pipeline = redis.pipeline();
      for (const [bucket, jobKeys] of jobKeysByBucket)
        pipeline.eval(REMOVE, 2, pendingKey(bucket), bucketsKey, bucket, ...jobKeys);
      if (pipeline.length) await run(pipeline);
    },
  };
}
