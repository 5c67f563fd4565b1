import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { findEachById, type Models, type NewEventDoc } from '../models/index.js';
import { type RedisPresence, redisPresence } from '../plugins/redis-presence.js';

/**
 * The stored events of each visitor id that carry no profile yet, kept in Redis so that linking a visitor does not
 * have to find them in `events` (a `{ siteId, anonymousId: { $in } }` read is a scan of every stored event on
 * FerretDB, and it ran for every job that linked someone):
 * - `unlinked:<site id>:<visitor id>` → hash, event `_id` → what the profile facts need of the event (JSON), and
 *   `_` → the time of its last write. The ingest worker writes them after each insert and before it reads the
 *   visitor's link again (store-events.ts), so a job that links the visitor later finds them, and one that linked
 *   it earlier is seen by that second read: the same write-then-read order as the links themselves. Linking the
 *   visitor back-fills the recorded events by `_id` and forgets their records.
 * - The records of a site are complete once `unlinked-ready:<site id>` is set: the keeper (startUnlinkedKeeper)
 *   first marks, in `unlinked_visitors`, every visitor id with events stored without a profile, then sets it.
 *   Until then (a site with events from before this was kept, or a Redis that lost its data) and for a marked
 *   visitor id, the back-fill reads `events` as before, and a marked visitor loses its mark once back-filled.
 * - A hash not written for RECORDS_IDLE_DAYS is set aside by the keeper: its visitor id is marked and the hash
 *   dropped, so Redis holds the records of recently active visitors only.
 * A job that met its own events stored already (a retried job) back-fills their visitors from `events` too: the
 * stored copies' `_id`s are not this attempt's.
 */
export interface UnlinkedEvents {
  /** Records a job's inserted events: every visitor's hash is touched, events without a profile recorded. */
  note(docs: Array<NewEventDoc & { _id: Types.ObjectId }>): Promise<void>;
  /**
   * Each visitor's (identityKey) recorded events, whether they are all its events without a profile, and whether
   * the visitor is marked (its mark goes once it is back-filled).
   */
  read(keys: string[]): Promise<Map<string, { events: UnlinkedEvent[]; complete: boolean; marked: boolean }>>;
  /** Forgets these records (identityKey → event `_id`s), once back-filled; and these visitors' marks. */
  forget(records: Map<string, string[]>, unmark: string[]): Promise<void>;
  /**
   * Claims back-filled events (`_id`s, hex) for the one job that counts them in the profile facts: answers those no
   * other call claimed in the last CLAIM_MS. Two jobs that back-fill one visitor at once (both read its records, or
   * found its events in `events`) update the same events; each event is counted by the one that claimed it.
   */
  claim(ids: string[]): Promise<Set<string>>;
  /** Forgets every record and mark of these visitor ids (an erased person's). */
  erase(siteId: string, anonymousIds: string[]): Promise<void>;
}

/** What a record keeps of its event: enough for the profile facts (segments/facts.ts). */
export type UnlinkedEvent = Pick<
  NewEventDoc,
  'name' | 'timestamp' | 'properties' | 'sentBy' | 'source' | 'geo' | 'bot' | 'anonymousId' | 'ingestJob'
> & { _id: Types.ObjectId };

/** A visitor's records are set aside (its visitor id marked in `unlinked_visitors`) after this long unwritten. */
export const RECORDS_IDLE_DAYS = 30;

/** A mark names its visitor's events (for the back-fill to read by `_id`) when they are at most this many. */
export const MARK_EVENTS = 100;

/** The fields of a stored event its record is made of. */
export const RECORD_FIELDS = {
  name: 1,
  timestamp: 1,
  properties: 1,
  sentBy: 1,
  source: 1,
  'geo.country': 1,
  bot: 1,
  anonymousId: 1,
  ingestJob: 1,
  profileId: 1,
} as const;

/** A stored event as its record would give it (an event a mark names, read by `_id`). */
export function storedEventOf(doc: NewEventDoc & { _id: Types.ObjectId }, anonymousId: string): UnlinkedEvent {
  return eventOf(doc._id.toHexString(), anonymousId, recordOf(doc));
}

/** A recorded event once back-filled: with the profile it was given. */
export type BackfilledEvent = UnlinkedEvent & { profileId: Types.ObjectId };

const KEPT = '_';

export const unlinkedKey = (prefix: string, identityKey: string) => `${prefix}:unlinked:${identityKey}`;
export const unlinkedReadyKey = (prefix: string, siteId: string) => `${prefix}:unlinked-ready:${siteId}`;

/**
 * Which visitor ids of each site may be marked in `unlinked_visitors` (plugins/redis-presence.ts): the keeper adds
 * a visitor id before it marks it, and fills a site's set from its marks; read() looks up only those ids.
 */
export const markRecords = (redis: Parameters<typeof redisPresence>[0], prefix: string): RedisPresence =>
  redisPresence(redis, prefix, 'unlinked-marked');

/** Visitor ids (identityKey) by site: site id → visitor ids, as the Redis sets of visitor ids take them. */
export function bySite(keys: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const key of keys) {
    const sep = key.indexOf(':');
    const list = out.get(key.slice(0, sep));
    if (list) list.push(key.slice(sep + 1));
    else out.set(key.slice(0, sep), [key.slice(sep + 1)]);
  }
  return out;
}

function recordOf(doc: NewEventDoc): string {
  const r: Record<string, unknown> = { n: doc.name, t: doc.timestamp.getTime(), s: doc.sentBy };
  // the facts read properties of server events only (orders and refunds)
  if (doc.sentBy === 'server' && doc.properties) r.p = doc.properties;
  if (doc.source) r.src = doc.source;
  if (doc.geo?.country) r.c = doc.geo.country;
  if (doc.bot) r.b = 1;
  if (doc.ingestJob) r.j = doc.ingestJob;
  return JSON.stringify(r);
}

function eventOf(id: string, anonymousId: string, json: string): UnlinkedEvent {
  const r = JSON.parse(json) as {
    n: string;
    t: number;
    s: NewEventDoc['sentBy'];
    p?: Record<string, unknown>;
    src?: NewEventDoc['source'];
    c?: string;
    b?: 1;
    j?: string;
  };
  const e: UnlinkedEvent = {
    _id: new Types.ObjectId(id),
    anonymousId,
    name: r.n,
    timestamp: new Date(r.t),
    sentBy: r.s,
    properties: r.p ?? {},
  };
  if (r.src) e.source = r.src;
  if (r.c) e.geo = { country: r.c } as NewEventDoc['geo'];
  if (r.b) e.bot = true;
  if (r.j) e.ingestJob = r.j;
  return e;
}

/** KEYS: the visitors' hashes. ARGV: now, then per key its number of records and their (event id, record). */
const NOTE = `
local a = 2
for i = 1, #KEYS do
  local n = tonumber(ARGV[a])
  redis.call('HSET', KEYS[i], '${KEPT}', ARGV[1])
  for j = 1, n do redis.call('HSET', KEYS[i], ARGV[a + 2 * j - 1], ARGV[a + 2 * j]) end
  a = a + 1 + 2 * n
end
return 0`;

/** How long a claim on a back-filled event lasts: longer than any back-fill takes. */
export const CLAIM_MS = 600_000;

const siteOf = (identityKey: string) => identityKey.slice(0, identityKey.indexOf(':'));

export function unlinkedEvents(
  models: Pick<Models, 'UnlinkedVisitor' | 'Event'>,
  redis: Pick<Redis, 'eval' | 'pipeline' | 'unlink' | 'mget' | 'set'>,
  prefix: string,
): UnlinkedEvents {
  const markSets = markRecords(redis, prefix);
  return {
    async note(docs) {
      const byVisitor = new Map<string, string[]>();
      for (const d of docs) {
        if (!d.anonymousId) continue;
        const key = unlinkedKey(prefix, `${d.siteId.toHexString()}:${d.anonymousId}`);
        const fields = byVisitor.get(key) ?? [];
        if (!d.profileId) fields.push(d._id.toHexString(), recordOf(d));
        byVisitor.set(key, fields);
      }
      if (!byVisitor.size) return;
      const keys = [...byVisitor.keys()];
      const args = [...byVisitor.values()].flatMap((fields) => [fields.length / 2, ...fields]);
      await redis.eval(NOTE, keys.length, ...keys, Date.now(), ...args);
    },
    async read(keys) {
      const out = new Map<string, { events: UnlinkedEvent[]; complete: boolean; marked: boolean }>();
      if (!keys.length) return out;
      const sites = [...new Set(keys.map(siteOf))];
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.hgetall(unlinkedKey(prefix, key));
      const [ready, results] = await Promise.all([
        redis.mget(...sites.map((site) => unlinkedReadyKey(prefix, site))),
        pipeline.exec(),
      ]);
      const readySites = new Set(sites.filter((_, i) => ready[i] !== null));
      // the marks after the records: the keeper marks a visitor before it drops its records, so records dropped
      // before they were read are named by a mark that is there when it is looked up
      const asked = keys.filter((key) => readySites.has(siteOf(key)));
      const mayBeMarked = await markSets.mayExist(bySite(asked));
      const marked = await findEachById(
        asked.filter((key) => mayBeMarked.get(siteOf(key))?.has(key.slice(key.indexOf(':') + 1)) ?? true),
        (key) => models.UnlinkedVisitor.findById(key, { _id: 1, events: 1 }).lean(),
      );
      const marks = new Map(marked.map((m) => [m._id, m.events]));
      // the events marks name, read by `_id` (those given a profile since are left out, as a find would)
      const named = await findEachById(
        [...marks.values()].flatMap((ids) => ids ?? []),
        (id) => models.Event.findById(id, RECORD_FIELDS).lean<NewEventDoc & { _id: Types.ObjectId }>(),
      );
      const byId = new Map(named.filter((d) => !d.profileId).map((d) => [d._id.toHexString(), d]));
      keys.forEach((key, i) => {
        const [err, hash] = results![i]!;
        if (err) throw err;
        const anonymousId = key.slice(key.indexOf(':') + 1);
        const events = Object.entries(hash as Record<string, string>).flatMap(([id, json]) =>
          id === KEPT ? [] : [eventOf(id, anonymousId, json)],
        );
        const isMarked = marks.has(key);
        const listed = marks.get(key);
        if (listed) {
          const recorded = new Set(events.map((e) => e._id.toHexString()));
          for (const id of listed) {
            const doc = byId.get(id.toHexString());
            if (doc && !recorded.has(id.toHexString())) events.push(storedEventOf(doc, anonymousId));
          }
        }
        out.set(key, {
          events,
          complete: readySites.has(siteOf(key)) && (!isMarked || listed !== undefined),
          marked: isMarked,
        });
      });
      return out;
    },
    async forget(records, unmark) {
      const pipeline = redis.pipeline();
      let n = 0;
      for (const [key, ids] of records) {
        if (!ids.length) continue;
        pipeline.hdel(unlinkedKey(prefix, key), ...ids);
        n++;
      }
      await Promise.all([
        n ? pipeline.exec() : null,
        ...unmark.map((key) => models.UnlinkedVisitor.deleteOne({ _id: key })),
      ]);
    },
    async claim(ids) {
      if (!ids.length) return new Set();
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.set(`${prefix}:backfill-claim:${id}`, '1', 'PX', CLAIM_MS, 'NX');
      const answers = (await pipeline.exec()) ?? [];
      return new Set(ids.filter((_, i) => answers[i]?.[1] === 'OK'));
    },
    async erase(siteId, anonymousIds) {
      if (!anonymousIds.length) return;
      const keys = anonymousIds.map((id) => `${siteId}:${id}`);
      await redis.unlink(...keys.map((key) => unlinkedKey(prefix, key)));
      await Promise.all(keys.map((key) => models.UnlinkedVisitor.deleteOne({ _id: key })));
    },
  };
}
