import type { Redis } from 'ioredis';

/**
 * A copy in Redis of small documents that a per-job point read would otherwise fetch from MongoDB (where FerretDB
 * 1.24 serves a read by `_id` as a pass over the whole collection: docs/production.md), kept per partition (a
 * site, a trigger) so that its answers can be trusted, a missing field included:
 * - `<name>:<partition>` → hash, field → value. Whoever writes a document writes MongoDB first, then the copy, so
 *   a reader of the copy sees what a reader of MongoDB would.
 * - The copy of a partition is complete only while `<name>-ready:<partition>` is set. copy() sets it after it
 *   emptied the hash and added every document read from MongoDB that a writer had not written meanwhile (HSETNX:
 *   a value written after the read is newer than the one read), and only if `<name>-gen:<partition>` did not move
 *   while it read.
 * - A change made other than through write() (a bulk move, a deletion) invalidates the partition: the counter
 *   moves and the key and hash go. Until it is copied again, read() does not answer for it and readers ask
 *   MongoDB, as they do for a partition never copied and after Redis lost its data (the key goes with the hash).
 */
export interface RedisCopy {
  /** The fields asked of each partition (partition → fields), for the partitions whose copy is complete. */
  read(asked: ReadonlyMap<string, readonly string[]>): Promise<Map<string, Map<string, string | null>>>;
  /** Values just written to MongoDB (partition → [field, value] pairs). */
  write(values: ReadonlyMap<string, ReadonlyArray<readonly [string, string]>>): Promise<void>;
  /** Drops these partitions' copies; read() leaves them out until they are copied again. */
  invalidate(partitions: Iterable<string>): Promise<void>;
  /**
   * Copies one partition from what MongoDB holds, read after this call starts; one copier at a time (the caller
   * holds a lock). Returns whether the copy is complete (false: invalidated while copying) and the fields copied.
   */
  copy(
    partition: string,
    source: AsyncIterable<readonly [string, string]>,
  ): Promise<{ complete: boolean; fields: number }>;
  /** Which of these partitions' copies are complete. */
  ready(partitions: readonly string[]): Promise<Set<string>>;
  /**
   * Copies each of these partitions whose copy is not complete, from its source (one read each), calling
   * `keepLock` after each; returns the number of partitions made complete and of fields copied.
   */
  copyIncomplete(
    partitions: readonly string[],
    source: (partition: string) => AsyncIterable<readonly [string, string]>,
    keepLock: () => Promise<unknown>,
  ): Promise<{ partitions: number; fields: number }>;
  keys(partition: string): string[];
}

/** Fields per HMGET/HSET, well under Lua's unpack limit. */
const CHUNK = 1_000;

/** KEYS: ready key, hash. ARGV: fields. Their values, or false when the copy is not complete. */
const READ = `if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HMGET', KEYS[2], unpack(ARGV))`;

/** KEYS: counter, ready key, hash. */
const INVALIDATE = `redis.call('INCR', KEYS[1])
redis.call('DEL', KEYS[2])
return redis.call('UNLINK', KEYS[3])`;

/** KEYS: counter, ready key. ARGV: the counter as read before copying, now. Sets the key unless invalidated since. */
const SET_READY = `local gen = redis.call('GET', KEYS[1]) or ''
if gen ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

/** Runs a pipeline; its answers, or the first command's error. */
export async function runPipeline(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * Reads the items asked of each partition with `script` (KEYS: the partition's ready key, then its data key; ARGV:
 * up to CHUNK items; answers an array, an entry per item, or false when the partition is not complete), all in one
 * pipeline. Answers each complete partition's entries in the order asked; a partition with a chunk answered false
 * is left out whole (its chunks may straddle an invalidation).
 */
export async function readComplete(
  redis: Pick<Redis, 'pipeline'>,
  script: string,
  keysOf: (partition: string) => readonly [string, string],
  asked: ReadonlyMap<string, readonly string[]>,
): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  const sent: string[] = [];
  const pipeline = redis.pipeline();
  for (const [partition, items] of asked) {
    for (let i = 0; i < items.length; i += CHUNK) {
      sent.push(partition);
      pipeline.eval(script, 2, ...keysOf(partition), ...items.slice(i, i + CHUNK));
    }
  }
  if (!sent.length) return out;
  const values = await runPipeline(pipeline);
  const incomplete = new Set<string>();
  sent.forEach((partition, i) => {
    const got = values[i];
    if (!Array.isArray(got)) incomplete.add(partition);
    else out.set(partition, [...(out.get(partition) ?? []), ...got]);
  });
  for (const partition of incomplete) out.delete(partition);
  return out;
}

export function redisCopy(
  redis: Pick<Redis, 'pipeline' | 'eval' | 'get' | 'unlink' | 'mget'>,
  prefix: string,
  name: string,
): RedisCopy {
  const hash = (p: string) => `${prefix}:${name}:${p}`;
  const readyKey = (p: string) => `${prefix}:${name}-ready:${p}`;
  const genKey = (p: string) => `${prefix}:${name}-gen:${p}`;
  const self: RedisCopy = {
    async read(asked) {
      const answers = await readComplete(redis, READ, (p) => [readyKey(p), hash(p)], asked);
      const out = new Map<string, Map<string, string | null>>();
      for (const [partition, values] of answers) {
        const fields = asked.get(partition)!;
        out.set(partition, new Map(fields.map((field, j) => [field, (values[j] as string | null) ?? null])));
      }
      return out;
    },
    async write(values) {
      const pipeline = redis.pipeline();
      let n = 0;
      for (const [partition, pairs] of values) {
        for (let i = 0; i < pairs.length; i += CHUNK) {
          pipeline.hset(hash(partition), ...pairs.slice(i, i + CHUNK).flat());
          n++;
        }
      }
      if (n) await runPipeline(pipeline);
    },
    async invalidate(partitions) {
      const pipeline = redis.pipeline();
      let n = 0;
      for (const p of new Set(partitions)) {
        pipeline.eval(INVALIDATE, 3, genKey(p), readyKey(p), hash(p));
        n++;
      }
      if (n) await runPipeline(pipeline);
    },
    async copy(partition, source) {
      const gen = (await redis.get(genKey(partition))) ?? '';
      // a value written before this point is in MongoDB already, so the read below finds it
      await redis.unlink(hash(partition));
      let batch: Array<readonly [string, string]> = [];
      let fields = 0;
      const flush = async () => {
        if (!batch.length) return;
        const pipeline = redis.pipeline();
        for (const [field, value] of batch) pipeline.hsetnx(hash(partition), field, value);
        await runPipeline(pipeline);
        fields += batch.length;
        batch = [];
      };
      for await (const pair of source) {
        batch.push(pair);
        if (batch.length >= CHUNK) await flush();
      }
      await flush();
      const set = await redis.eval(SET_READY, 2, genKey(partition), readyKey(partition), gen, new Date().toISOString());
      return { complete: Number(set) === 1, fields };
    },
    async ready(partitions) {
      if (!partitions.length) return new Set();
      const found = await redis.mget(...partitions.map(readyKey));
      return new Set(partitions.filter((_, i) => found[i] !== null));
    },
    async copyIncomplete(partitions, source, keepLock) {
      const ready = await self.ready(partitions);
      let copied = 0;
      let fields = 0;
      for (const partition of partitions) {
        if (ready.has(partition)) continue;
        const result = await self.copy(partition, source(partition));
        if (result.complete) copied++;
        fields += result.fields;
        await keepLock();
      }
      return { partitions: copied, fields };
    },
    keys: (p) => [hash(p), readyKey(p), genKey(p)],
  };
  return self;
}
