import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import { isDuplicateKey, type Models } from '../models/index.js';
import { lockKeys, RELEASE_LOCK, scanNodes } from '../plugins/redis.js';
import { copyLinks } from './link-mirror.js';
import { RECORDS_IDLE_DAYS, unlinkedKey, unlinkedReadyKey } from './unlinked-events.js';

/**
 * Keeps the records of events without a profile (unlinked-events.ts) complete and small, and the Redis copies of
 * the sites' visitor-id links (link-mirror.ts) complete, one process at a time (a Redis lock), every `intervalMs`:
 * - a site whose records are not known complete (its events stored before they were kept, a new site, or a
 *   Redis that lost its data) has every visitor id with events without a profile marked in `unlinked_visitors`
 *   (one read of the site's events), then `unlinked-ready:<site>` set: from then on linking a visitor reads its
 *   records, and `events` only for a marked visitor;
 * - once an hour, records not written for RECORDS_IDLE_DAYS are set aside: their visitor id is marked, then the
 *   hash dropped (unless written meanwhile);
 * - a site whose copy of its links is not complete (new, invalidated by a merge or an erasure, or a Redis that lost
 *   its data) has them copied: one read of its identities.
 */
export function startUnlinkedKeeper(
  config: Pick<Config, 'queuePrefix'>,
  models: Models,
  redis: Redis,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
  /** Other copies in Redis kept complete in the same rounds, under the same lock (a site's deletion holds it). */
  copies: Array<(keepLock: () => Promise<unknown>) => Promise<void>> = [],
  intervalMs = 15_000,
): { stop(): Promise<void> } {
  const lockKey = lockKeys.unlinked(config.queuePrefix);
  const token = randomUUID();
  let running: Promise<void> | null = null;
  let stopped = false;
  let onStop = () => {};
  const stopping = new Promise<void>((resolve) => {
    onStop = resolve;
  });
  let lastSweep = 0;
  const run = async () => {
    // the first round comes at once, usually before the connection is up (it queues no command while down)
    if (redis.status !== 'ready') await Promise.race([new Promise((r) => redis.once('ready', r)), stopping]);
    if (stopped) return;
    if (!(await redis.set(lockKey, token, 'PX', LOCK_MS, 'NX'))) return;
    try {
      const prepared = await prepareUnlinkedRecords(models, redis, config.queuePrefix, () =>
        redis.pexpire(lockKey, LOCK_MS),
      );
      if (prepared.sites) log.info(prepared, 'records of events without a profile are kept for these sites now');
      const copied = await copyLinks(models, redis, config.queuePrefix, () => redis.pexpire(lockKey, LOCK_MS));
      if (copied.sites) log.info(copied, "sites' visitor-id links copied to Redis");
      for (const copy of copies) await copy(() => redis.pexpire(lockKey, LOCK_MS));
      if (Date.now() - lastSweep >= SWEEP_EVERY_MS && !stopped) {
        const setAside = await setAsideIdleRecords(models, redis, config.queuePrefix);
        lastSweep = Date.now();
        if (setAside) log.info({ visitors: setAside }, 'idle records of events without a profile set aside');
      }
    } finally {
      await redis.eval(RELEASE_LOCK, 1, lockKey, token);
    }
  };
  const tick = () => {
    if (running || stopped) return;
    running = run()
      .catch((err) => log.warn({ err: loggable(err) }, 'keeping records of events without a profile failed; retrying'))
      .finally(() => {
        running = null;
      });
  };
  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      onStop();
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}

const LOCK_MS = 120_000;
const SWEEP_EVERY_MS = 3_600_000;

/** Marks visitor ids (identityKey) in `unlinked_visitors`; one insert each, a duplicate is a mark already there. */
async function mark(models: Pick<Models, 'UnlinkedVisitor'>, siteId: Types.ObjectId, keys: string[]): Promise<void> {
  const at = new Date();
  for (let i = 0; i < keys.length; i += 100) {
    // one by one: FerretDB stops an unordered insert at its first duplicate and reports it at a wrong index
    await Promise.all(
      keys.slice(i, i + 100).map((_id) =>
        models.UnlinkedVisitor.create({ _id, siteId, at }).catch((err: unknown) => {
          if (!isDuplicateKey(err)) throw err;
        }),
      ),
    );
  }
}

/**
 * Makes the records of every site without `unlinked-ready:<site>` complete: marks each visitor id with events
 * stored without a profile (those stored meanwhile are recorded by the worker either way), then sets the key.
 * Returns the number of sites and of visitor ids marked.
 */
export async function prepareUnlinkedRecords(
  models: Pick<Models, 'Site' | 'Event' | 'UnlinkedVisitor'>,
  redis: Pick<Redis, 'mget' | 'set'>,
  prefix: string,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<{ sites: number; visitors: number }> {
  const sites = await models.Site.find({}, { _id: 1 }).lean();
  if (!sites.length) return { sites: 0, visitors: 0 };
  const ready = await redis.mget(...sites.map((s) => unlinkedReadyKey(prefix, s._id.toHexString())));
  let prepared = 0;
  let visitors = 0;
  for (const [i, site] of sites.entries()) {
    if (ready[i] !== null) continue;
    const ids: Array<string | null> = await models.Event.distinct('anonymousId', { siteId: site._id, profileId: null });
    const keys = ids.filter((id): id is string => typeof id === 'string' && id !== '').map((id) => `${site._id}:${id}`);
    await mark(models, site._id, keys);
    await redis.set(unlinkedReadyKey(prefix, site._id.toHexString()), new Date().toISOString());
    await keepLock();
    prepared++;
    visitors += keys.length;
  }
  return { sites: prepared, visitors };
}

/** KEYS: a visitor's hash. ARGV: its last write as read. Drops the hash unless written since. */
const DROP_IF_UNWRITTEN = `if redis.call('HGET', KEYS[1], '_') == ARGV[1] then return redis.call('UNLINK', KEYS[1]) else return 0 end`;

/**
 * Sets aside the records of visitors not written for RECORDS_IDLE_DAYS: marks the visitor id (when it has
 * records), then drops the hash unless a job wrote it meanwhile. Returns the number of hashes dropped.
 */
export async function setAsideIdleRecords(
  models: Pick<Models, 'UnlinkedVisitor'>,
  redis: Pick<Redis, 'scan' | 'pipeline' | 'eval'>,
  prefix: string,
  now = Date.now(),
): Promise<number> {
  const cutoff = now - RECORDS_IDLE_DAYS * 86_400_000;
  const head = unlinkedKey(prefix, '');
  let dropped = 0;
  for (const node of scanNodes(redis)) dropped += await setAsideOn(node, redis, models, head, cutoff);
  return dropped;
}

async function setAsideOn(
  node: Pick<Redis, 'scan'>,
  redis: Pick<Redis, 'pipeline' | 'eval'>,
  models: Pick<Models, 'UnlinkedVisitor'>,
  head: string,
  cutoff: number,
): Promise<number> {
  let cursor = '0';
  let dropped = 0;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 500);
    cursor = next;
    if (!keys.length) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.hget(key, '_').hlen(key);
    const results = (await pipeline.exec()) ?? [];
    for (const [i, key] of keys.entries()) {
      const last = results[2 * i]?.[1];
      const fields = Number(results[2 * i + 1]?.[1] ?? 0);
      if (typeof last !== 'string' || Number(last) >= cutoff) continue;
      const identity = key.slice(head.length);
      if (fields > 1) await mark(models, new Types.ObjectId(identity.slice(0, identity.indexOf(':'))), [identity]);
      dropped += Number(await redis.eval(DROP_IF_UNWRITTEN, 1, key, last));
    }
  } while (cursor !== '0');
  return dropped;
}
