import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { readComplete, runPipeline } from './redis-copy.js';

/**
 * Which documents of a rarely written collection may exist, kept in Redis per partition (a site), so that a point
 * read that almost always finds nothing (on FerretDB 1.24 a pass over the collection: docs/production.md) is sent
 * only for the ids that may have a document:
 * - `<name>:<partition>` → set of ids. A writer adds its ids before it writes their documents to MongoDB, and again
 *   once they are written (around()). Nothing takes an id out when its document is deleted: an id left behind costs
 *   a read that finds nothing, as every read did before.
 * - The set of a partition answers only while `<name>-ready:<partition>` is set. fill() sets it after adding the id
 *   of every document MongoDB holds, read after fill() started; a document written meanwhile had its id added
 *   before it was written. So while the key is set, every document in MongoDB, or being written, has its id there.
 * - A Redis that lost its data lost the key with the set: readers ask MongoDB until fill() runs again (a fill under
 *   way when it happened sets no key: its token went too). A writer that was between its two adds then adds its ids
 *   again once written, so a set filled before its document was readable does not stay without them.
 */
export interface RedisPresence {
  /**
   * For each partition whose set is complete, which of the ids asked may have a document (those left out have
   * none); partitions whose set is not complete are left out of the answer (every id may have one).
   */
  mayExist(asked: ReadonlyMap<string, readonly string[]>): Promise<Map<string, Set<string>>>;
  /** Adds these ids (partition → ids), then runs `write` (which writes their documents), then adds them again. */
  around<T>(ids: ReadonlyMap<string, readonly string[]>, write: () => Promise<T>): Promise<T>;
  /**
   * Fills the set of each of these partitions whose set is not complete from its source (the ids of its documents,
   * read after the call starts), one copier at a time (the caller holds a lock), calling `keepLock` after each;
   * returns the number of partitions made complete and of ids added.
   */
  fillIncomplete(
    partitions: readonly string[],
    source: (partition: string) => AsyncIterable<string>,
    keepLock: () => Promise<unknown>,
  ): Promise<{ partitions: number; ids: number }>;
  /** The Redis keys of a partition (for its deletion, all at once). */
  keys(partition: string): string[];
}

/** Ids per SADD/SMISMEMBER, well under Lua's unpack limit. */
const CHUNK = 1_000;

/** KEYS: ready key, set. ARGV: ids. Whether each may have a document, or false when the set is not complete. */
const MAY_EXIST = `if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('SMISMEMBER', KEYS[2], unpack(ARGV))`;

/** KEYS: fill token, ready key. ARGV: the token, now. Sets the key if the fill's token is still there. */
const SET_READY = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

export function redisPresence(
  redis: Pick<Redis, 'pipeline' | 'eval' | 'mget' | 'set'>,
  prefix: string,
  name: string,
): RedisPresence {
  const set = (p: string) => `${prefix}:${name}:${p}`;
  const readyKey = (p: string) => `${prefix}:${name}-ready:${p}`;
  const fillKey = (p: string) => `${prefix}:${name}-filling:${p}`;
  const add = async (ids: ReadonlyMap<string, readonly string[]>) => {
    const pipeline = redis.pipeline();
    let n = 0;
    for (const [partition, list] of ids)
      for (let i = 0; i < list.length; i += CHUNK) {
        pipeline.sadd(set(partition), ...list.slice(i, i + CHUNK));
        n++;
      }
    if (n) await runPipeline(pipeline);
  };
  return {
    async mayExist(asked) {
      const answers = await readComplete(redis, MAY_EXIST, (p) => [readyKey(p), set(p)], asked);
      const out = new Map<string, Set<string>>();
      for (const [partition, members] of answers) {
        const ids = asked.get(partition)!;
        out.set(partition, new Set(ids.filter((_, j) => members[j] === 1)));
      }
      return out;
    },
    async around(ids, write) {
      await add(ids);
      try {
        return await write();
      } finally {
        await add(ids);
      }
    },
    async fillIncomplete(partitions, source, keepLock) {
      if (!partitions.length) return { partitions: 0, ids: 0 };
      const ready = await redis.mget(...partitions.map(readyKey));
      let filled = 0;
      let added = 0;
      for (const [i, partition] of partitions.entries()) {
        if (ready[i] !== null) continue;
        const token = randomUUID();
        await redis.set(fillKey(partition), token);
        let batch: string[] = [];
        for await (const id of source(partition)) {
          batch.push(id);
          if (batch.length < CHUNK) continue;
          await add(new Map([[partition, batch]]));
          added += batch.length;
          batch = [];
        }
        await add(new Map([[partition, batch]]));
        added += batch.length;
        const set = await redis.eval(
          SET_READY,
          2,
          fillKey(partition),
          readyKey(partition),
          token,
          new Date().toISOString(),
        );
        if (Number(set) === 1) filled++;
        await keepLock();
      }
      return { partitions: filled, ids: added };
    },
    keys: (p) => [set(p), readyKey(p), fillKey(p)],
  };
}
