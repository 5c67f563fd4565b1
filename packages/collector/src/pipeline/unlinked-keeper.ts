import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import { isDuplicateKey, type Models } from '../models/index.js';
import { lockKeys, RELEASE_LOCK, scanNodes } from '../plugins/redis.js';
import type { RedisPresence } from '../plugins/redis-presence.js';
import { copyLinks, fillLinkRecords } from './link-mirror.js';
import { MARK_EVENTS, markRecords, RECORDS_IDLE_DAYS, unlinkedKey, unlinkedReadyKey } from './unlinked-events.js';

/**
 * Keeps the records of events without a profile (unlinked-events.ts) complete and small, and the Redis copies of
 * the sites' visitor-id links (link-mirror.ts) complete, one process at a time (a Redis lock), every `intervalMs`:
 * - a site whose records are not known complete (its events stored before they were kept, a new site, or a
 *   Redis that lost its data) has every visitor id with events without a profile marked in `unlinked_visitors`
 *   (one read of the site's events), then `unlinked-ready:<site>` set: from then on linking a visitor reads its
 *   records, and `events` only for a marked visitor;
 * - once an hour, records not written for RECORDS_IDLE_DAYS are set aside: their visitor id is marked, then the
 *   hash dropped (unless written meanwhile);
 * - a site whose set of marked visitor ids (markRecords) is not complete has it filled: one read of its marks;
 * - a site whose copy of its links is not complete (new, invalidated by a merge or an erasure, or a Redis that lost
 *   its data) has them copied: one read of its identities; likewise the sets of which visitor ids may have pending
 *   aliases and which profiles may have been merged (link-mirror.ts, fillLinkRecords).
 */
export function startUnlinkedKeeper(
  config: Pick<Config, 'queuePrefix'>,
  models: Models,
  redis: Redis,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
  /** Other copies in Redis kept complete in the same rounds, under the same lock (a site's deletion holds it). */
  copies: Array<(keepLock: () => Promise<unknown>) => Promise<void>> = [],
  intervalMs = 15_000,
): {
  stop(): Promise<void>;
  /** Settles when the first round is over (done, failed, or left to the process holding the lock). */
  firstRound: Promise<void>;
} {
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
      await fillMarkRecords(models, redis, config.queuePrefix, () => redis.pexpire(lockKey, LOCK_MS));
      const copied = await copyLinks(models, redis, config.queuePrefix, () => redis.pexpire(lockKey, LOCK_MS));
      if (copied.sites) log.info(copied, "sites' visitor-id links copied to Redis");
      await fillLinkRecords(models, redis, config.queuePrefix, () => redis.pexpire(lockKey, LOCK_MS));
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
  let firstDone = () => {};
  const firstRound = new Promise<void>((resolve) => {
    firstDone = resolve;
  });
  const first = setTimeout(() => {
    tick();
    void (running ?? Promise.resolve()).finally(firstDone);
  }, 0);
  const timer = setInterval(tick, intervalMs);
  first.unref();
  timer.unref();
  return {
    firstRound,
    async stop() {
      stopped = true;
      onStop();
      firstDone();
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}

const LOCK_MS = 120_000;
const SWEEP_EVERY_MS = 3_600_000;

/** A visitor id to mark, with its events without a profile when they are known and at most MARK_EVENTS. */
interface Mark {
  key: string;
  events?: Types.ObjectId[];
}

async function mark(
  models: Pick<Models, 'UnlinkedVisitor'>,
  records: RedisPresence,
  siteId: Types.ObjectId,
  marks: Mark[],
): Promise<void> {
  if (!marks.length) return;
  // known to markRecords before and after they are written (plugins/redis-presence.ts)
  const site = siteId.toHexString();
  const visitors = marks.map((m) => m.key.slice(m.key.indexOf(':') + 1));
  await records.around(new Map([[site, visitors]]), () => writeMarks(models, siteId, marks));
}

async function writeMarks(models: Pick<Models, 'UnlinkedVisitor'>, siteId: Types.ObjectId, marks: Mark[]) {
  const at = new Date();
  const docOf = ({ key, events }: Mark) => ({ _id: key, siteId, at, ...(events ? { events } : {}) });
  for (let i = 0; i < marks.length; i += 500) {
    const slice = marks.slice(i, i + 500);
    // one insert a slice; a slice holding a visitor id marked already is marked again one by one, as FerretDB
    // stops an unordered insert at its first duplicate and reports it at a wrong index
    const inserted = await models.UnlinkedVisitor.insertMany(slice.map(docOf), { ordered: false, lean: true }).then(
      () => true,
      (err: unknown) => {
        if (isDuplicateKey(err)) return false;
        throw err;
      },
    );
    if (inserted) continue;
    for (let j = 0; j < slice.length; j += 100)
      await Promise.all(
        slice.slice(j, j + 100).map((m) =>
          models.UnlinkedVisitor.create(docOf(m)).catch(async (err: unknown) => {
            if (!isDuplicateKey(err)) throw err;
            // marked already, perhaps naming other events: it names none now (the back-fill reads `events`)
            await models.UnlinkedVisitor.updateOne({ _id: m.key }, { $unset: { events: '' } });
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
  redis: Pick<Redis, 'mget' | 'set' | 'pipeline' | 'eval'>,
  prefix: string,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<{ sites: number; visitors: number }> {
  const records = markRecords(redis, prefix);
  const sites = await models.Site.find({}, { _id: 1 }).lean();
  if (!sites.length) return { sites: 0, visitors: 0 };
  const ready = await redis.mget(...sites.map((s) => unlinkedReadyKey(prefix, s._id.toHexString())));
  let prepared = 0;
  let visitors = 0;
  for (const [i, site] of sites.entries()) {
    if (ready[i] !== null) continue;
    // one read of the site's events without a profile, each visitor's `_id`s kept (up to MARK_EVENTS)
    const byVisitor = new Map<string, Types.ObjectId[] | null>();
    const cursor = models.Event.find({ siteId: site._id, profileId: null }, { _id: 1, anonymousId: 1 })
      .lean()
      .cursor({ batchSize: 5_000 });
    for await (const e of cursor) {
      if (typeof e.anonymousId !== 'string' || e.anonymousId === '') continue;
      const ids = byVisitor.get(e.anonymousId);
      if (ids === null) continue;
      if (!ids) byVisitor.set(e.anonymousId, [e._id]);
      else if (ids.length < MARK_EVENTS) ids.push(e._id);
      else byVisitor.set(e.anonymousId, null); // too many to name: the back-fill finds them in `events`
    }
    const keys = [...byVisitor].map(([id, events]) => ({ key: `${site._id}:${id}`, events: events ?? undefined }));
    await mark(models, records, site._id, keys);
    await redis.set(unlinkedReadyKey(prefix, site._id.toHexString()), new Date().toISOString());
    await keepLock();
    prepared++;
    visitors += keys.length;
  }
  return { sites: prepared, visitors };
}

/**
 * Fills the sets of which visitor ids may be marked (markRecords) of every site whose set is not complete: one read
 * of the site's marks each. Returns the number of sites filled.
 */
export async function fillMarkRecords(
  models: Pick<Models, 'Site' | 'UnlinkedVisitor'>,
  redis: Pick<Redis, 'mget' | 'set' | 'pipeline' | 'eval'>,
  prefix: string,
  keepLock: () => Promise<unknown> = async () => {},
): Promise<number> {
  const sites = await models.Site.find({}, { _id: 1 }).lean();
  const { partitions } = await markRecords(redis, prefix).fillIncomplete(
    sites.map((s) => s._id.toHexString()),
    async function* (siteId) {
      const marks = models.UnlinkedVisitor.find({ siteId: new Types.ObjectId(siteId) }, { _id: 1 })
        .lean()
        .cursor({ batchSize: 5_000 });
      for await (const m of marks) yield m._id.slice(m._id.indexOf(':') + 1);
    },
    keepLock,
  );
  return partitions;
}

/** KEYS: a visitor's hash. ARGV: its last write as read. Drops the hash unless written since. */
const DROP_IF_UNWRITTEN = `if redis.call('HGET', KEYS[1], '_') == ARGV[1] then return redis.call('UNLINK', KEYS[1]) else return 0 end`;

/**
 * Sets aside the records of visitors not written for RECORDS_IDLE_DAYS: marks the visitor id (when it has
 * records), then drops the hash unless a job wrote it meanwhile. Returns the number of hashes dropped.
 */
export async function setAsideIdleRecords(
  models: Pick<Models, 'UnlinkedVisitor'>,
  redis: Pick<Redis, 'scan' | 'pipeline' | 'eval' | 'mget' | 'set'>,
  prefix: string,
  now = Date.now(),
): Promise<number> {
  const cutoff = now - RECORDS_IDLE_DAYS * 86_400_000;
  const head = unlinkedKey(prefix, '');
  const records = markRecords(redis, prefix);
  let dropped = 0;
  for (const node of scanNodes(redis)) dropped += await setAsideOn(node, redis, models, records, head, cutoff);
  return dropped;
}

async function setAsideOn(
  node: Pick<Redis, 'scan'>,
  redis: Pick<Redis, 'pipeline' | 'eval'>,
  models: Pick<Models, 'UnlinkedVisitor'>,
  records: RedisPresence,
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
    for (const key of keys) pipeline.hget(key, '_').hkeys(key);
    const results = (await pipeline.exec()) ?? [];
    for (const [i, key] of keys.entries()) {
      const last = results[2 * i]?.[1];
      const fields = ((results[2 * i + 1]?.[1] ?? []) as string[]).filter((f) => f !== '_');
      if (typeof last !== 'string' || Number(last) >= cutoff) continue;
      const identity = key.slice(head.length);
      // the mark names the recorded events, for the back-fill to read by `_id`
      const events = fields.length <= MARK_EVENTS ? fields.map((id) => new Types.ObjectId(id)) : undefined;
      if (fields.length)
        await mark(models, records, new Types.ObjectId(identity.slice(0, identity.indexOf(':'))), [
          { key: identity, events },
        ]);
      dropped += Number(await redis.eval(DROP_IF_UNWRITTEN, 1, key, last));
    }
  } while (cursor !== '0');
  return dropped;
}
