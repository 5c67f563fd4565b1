import { Types } from 'mongoose';
import {
  groupedInsert,
  identityKey,
  isDocumentError,
  isDuplicateKey,
  type Models,
  type NewEventDoc,
  siteSuppressionKey,
  writeErrorsOf,
} from '../models/index.js';
import {
  type ProfileDocLock,
  type ProfileKeysCopy,
  type ProfileMerged,
  type ProfileUpsert,
  profileKey,
  suppressionKey,
  upsertProfiles,
} from '../profiles/index.js';
import type { LinkMirror } from './link-mirror.js';
import { capBrowserLinks, LINKS_PER_PROFILE_DAY } from './link-quota.js';
import type { QueuedEvent } from './queued-event.js';
import type { BackfilledEvent, UnlinkedEvents } from './unlinked-events.js';
import {
  aliasesOf,
  backfill,
  followAliases,
  followMerges,
  type Links,
  linkIfFree,
  notePendingAliases,
  readLinks,
  saveLinks,
} from './visitor-links.js';

const toObjectId = (id: string) => new Types.ObjectId(id);

/** An event document as the worker inserts it: its `_id` made here, so its records can name it. */
export type StoredEventDoc = NewEventDoc & { _id: Types.ObjectId };

/** What happened to a job's events. */
export interface ProcessResult {
  /** Events inserted now (not duplicates of earlier attempts). */
  inserted: NewEventDoc[];
  duplicates: number;
  /** Events MongoDB refused for good (not a duplicate, not a connection problem), with the reason. */
  failed: Array<{ event: QueuedEvent; reason: string }>;
  /** Events of erased people (suppressed ids), dropped before anything was stored. */
  suppressed: QueuedEvent[];
  /** Visitor ids a browser's identify did not link because their profile had reached its daily number. */
  capped: number;
  /** Visitor ids (identityKey) this job found linked to a profile after reading or making their links. */
  linked: Links;
  /** Profiles this job merged into others (a backend bound a userId to an e-mail with a profile of its own). */
  merged: ProfileMerged[];
  /**
   * Events of visitor ids the settle step back-filled (identityKey → events, now the profile of `linked`): each
   * was stored without a profile, and is reported by this job alone (its record, or its claim, was this job's),
   * so the profile facts count it here. Undefined without the records of unlinked events.
   */
  backfilled?: Map<string, BackfilledEvent[]>;
}

/** The ingest job a hook runs for: its key (stable across retries) and its events that are stored. */
export interface HookJob {
  key: string;
  /** Every event of the job now in `events`: inserted by this attempt, an earlier one, or another job. */
  stored: QueuedEvent[];
  /**
   * The other jobs stored together with this one (the ingest worker's batches), each with its key and stored
   * events; `linked`, `merged` and `backfilled` are then the whole batch's.
   */
  batch?: ReadonlyArray<{ key: string; stored: QueuedEvent[] }>;
  /** Visitor ids (identityKey) the job linked, or found linked by another job after it read their links. */
  linked?: ReadonlyMap<string, Types.ObjectId>;
  /** Profiles the job merged into others. */
  merged?: readonly ProfileMerged[];
  /** Earlier events the job back-filled from their records, by visitor id (identityKey); see ProcessResult. */
  backfilled?: ReadonlyMap<string, BackfilledEvent[]>;
}

/**
 * Runs after events are stored (roll-ups, triggers, webhooks). Must be idempotent per inserted event. `inserted`
 * are the events this attempt inserted; a retried job finds those of its earlier attempts through `job`.
 */
export type AfterInsertHook = (inserted: NewEventDoc[], models: Models, job: HookJob) => Promise<void>;

/**
 * Adds stored fields to a job's documents before they are inserted (analytics' enrichment: source, device,
 * place, visit); `events` are the queued events the documents were made from, in the same order. Must give the
 * same answer when the job is retried.
 */
export type EnrichHook = (docs: NewEventDoc[], events: QueuedEvent[]) => Promise<void>;

/**
 * One ingest job, step by step, with a fixed number of round trips whatever its size; every step is
 * idempotent, so a job retried after a crash at any point stores each event exactly once:
 * 1. profile-creating events upsert their profiles (one bulkWrite) and link their visitors (one bulkWrite),
 *    browsers within a daily number of visitor ids per profile (link-quota.ts);
 * 2. aliases of visitors this job did not link are recorded as pending (one bulkWrite, only with aliases);
 * 3. events of already-identified visitors get their profileId (one round of point lookups); aliases of linked visitors link;
 * 4. events are inserted unordered (one insertMany); duplicate messageIds (a retried batch) are ignored by the
 *    unique index; when the database refuses the batch for what one event holds, the events are inserted one
 *    by one and only the refused ones are reported, for dead_letters;
 * 5. settle, after the insert: the links of visitors still without a profile are read again (one round), every
 *    visitor linked by this job or meanwhile has its pending aliases followed and its events back-filled, and
 *    profile ids a concurrent merge retired move to the surviving profile (one round). visitor-links.ts says
 *    why this order makes the end state the same whatever order jobs run in.
 */
export async function processEvents(
  models: Models,
  allEvents: QueuedEvent[],
  options: {
    /**
     * The job's key (stable across retries), stored on each event as `ingestJob`; a function gives each event its
     * own job's, when several jobs are stored together (the ingest worker's batches).
     */
    jobKey?: string | ((e: QueuedEvent) => string);
    suppressed?: Map<string, Set<string>>;
    enrich?: EnrichHook;
    linksPerProfileDay?: number;
    /** Locks the profile documents the job writes, against the profile API's changes (profileDocLock). */
    lockProfiles?: ProfileDocLock;
    /** Records of events stored without a profile, for the back-fill (unlinked-events.ts). */
    unlinked?: UnlinkedEvents;
    /** The Redis copy of the sites' visitor-id links (link-mirror.ts), read instead of `identities`. */
    mirror?: LinkMirror;
    /** The Redis copy of which profile holds each userId and e-mail (profiles/profile-keys-copy.ts). */
    profileKeys?: ProfileKeysCopy;
  } = {},
): Promise<ProcessResult> {
  const suppressed: QueuedEvent[] = [];
  const events = options.suppressed?.size
    ? allEvents.filter((e) => keep(e, options.suppressed!, suppressed))
    : allEvents;
  const links: Links = new Map(); // identity key → profile, as this job knows them
  const newlyLinked: Links = new Map();
  let capped = 0;
  const merged: ProfileMerged[] = [];
  const { mirror } = options;
  const profileEvents = events
    .filter((e): e is QueuedEvent & { profile: ProfileUpsert } => e.profile !== undefined)
    .sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  if (profileEvents.length) {
    const ids = await upsertProfiles(
      models,
      profileEvents.map((e) => ({
        from: e.source,
        siteId: e.siteId,
        anonymousId: e.anonymousId,
        at: new Date(e.timestamp),
        profile: e.profile,
      })),
      merged,
      options.lockProfiles,
      options.profileKeys,
      mirror?.merges,
    );
    // a merge moved the merged profile's links in `identities`
    if (merged.length) await mirror?.invalidate(merged.map((m) => m.siteId.toHexString()));
    const fromBrowser = new Set<string>();
    for (const e of profileEvents) {
      const profileId = ids.get(profileKey(e.siteId, e.profile));
      if (!profileId) continue;
      e.profileId = profileId.toHexString();
      if (!e.anonymousId) continue;
      const key = identityKey(e.siteId, e.anonymousId);
      links.set(key, profileId); // the latest event's profile
      if (e.source === 'server') fromBrowser.delete(key);
      else fromBrowser.add(key);
    }
    capped = await capBrowserLinks(
      models,
      links,
      fromBrowser,
      options.linksPerProfileDay ?? LINKS_PER_PROFILE_DAY,
      mirror,
      options.lockProfiles,
    );
    await saveLinks(models, links, mirror);
    for (const [key, id] of links) newlyLinked.set(key, id);
  }

  await notePendingAliases(models, aliasesOf(events.filter((e) => !e.profileId)), mirror);
  const unresolved = [
    ...new Set(events.flatMap((e) => (!e.profileId && e.anonymousId ? [identityKey(e.siteId, e.anonymousId)] : []))),
  ].filter((k) => !links.has(k));
  for (const [key, id] of await readLinks(models, unresolved, mirror)) links.set(key, id);
  await linkOwnAliases(models, events, links, newlyLinked, mirror);

  const { jobKey } = options;
  const docs = events.map((e) => toDoc(e, links, typeof jobKey === 'function' ? jobKey(e) : jobKey));
  if (options.enrich) await options.enrich(docs, events);
  const { insertedIdx, duplicates, failed } = await insertEvents(models, docs);
  const inserted = insertedIdx.map((i) => docs[i]!);
  // recorded before the links are read again, so that a job linking these visitors meanwhile finds them
  if (options.unlinked) await options.unlinked.note(inserted);

  // settle: what other jobs linked meanwhile, pending aliases, the back-fill, merges
  // a duplicate's stored copy is an earlier attempt's (or an earlier delivery's): it may have been inserted
  // without the profile this attempt found, after the link's own back-fill ran, so it is settled here too
  const stillUnlinked = new Set<string>();
  const uncertain = new Set<string>(); // visitors with stored copies of this job's events: their _ids are not these
  const fresh = new Set(insertedIdx);
  docs.forEach((d, i) => {
    if (d.anonymousId && (!d.profileId || !fresh.has(i))) {
      stillUnlinked.add(identityKey(d.siteId.toHexString(), d.anonymousId));
      if (!fresh.has(i)) uncertain.add(identityKey(d.siteId.toHexString(), d.anonymousId));
    }
  });
  for (const [key, id] of await readLinks(models, [...stillUnlinked], mirror)) newlyLinked.set(key, id);
  for (const [key, id] of await followAliases(models, newlyLinked, mirror)) newlyLinked.set(key, id);
  const backfilled = await backfill(models, newlyLinked, options.unlinked, uncertain);
  const profileIds = new Map<string, Types.ObjectId>();
  for (const d of docs) if (d.profileId) profileIds.set(d.profileId.toHexString(), d.profileId);
  for (const id of newlyLinked.values()) profileIds.set(id.toHexString(), id);
  await followMerges(models, [...profileIds.values()], mirror);
  return {
    inserted,
    duplicates,
    failed: failed.map(({ index, reason }) => ({ event: events[index]!, reason })),
    suppressed,
    capped,
    linked: newlyLinked,
    merged,
    backfilled: options.unlinked ? backfilled : undefined,
  };
}

/** False (and the event noted) when its site was deleted or it names an erased person (visitor id or e-mail). */
function keep(e: QueuedEvent, suppressed: Map<string, Set<string>>, dropped: QueuedEvent[]): boolean {
  const keys = suppressed.get(e.siteId);
  if (!keys) return true;
  const named =
    keys.has(siteSuppressionKey(e.siteId)) ||
    (e.anonymousId && keys.has(suppressionKey(e.siteId, e.anonymousId))) ||
    (e.profile?.email && keys.has(suppressionKey(e.siteId, e.profile.email))) ||
    (e.profile?.userId && keys.has(suppressionKey(e.siteId, e.profile.userId)));
  if (named) dropped.push(e);
  return !named;
}

/**
 * `alias` events (`properties.previousId`): a visitor id the person had before — another device, a cleared
 * cookie, an id the site kept from before sign-in — joins the profile of the event's visitor, and its earlier
 * events are back-filled. A visitor id already linked to another profile stays with it. An alias whose visitor
 * is not linked yet waits in `pending_aliases` until it is (followAliases).
 */
async function linkOwnAliases(
  models: Models,
  events: QueuedEvent[],
  links: Links,
  newlyLinked: Links,
  mirror?: LinkMirror,
): Promise<void> {
  const wanted: Links = new Map();
  for (const e of events) {
    const previousId = e.name === 'alias' ? e.properties.previousId : undefined;
    if (typeof previousId !== 'string' || !previousId || previousId === e.anonymousId) continue;
    const profileId = e.profileId
      ? new Types.ObjectId(e.profileId)
      : e.anonymousId
        ? links.get(identityKey(e.siteId, e.anonymousId))
        : undefined;
    if (profileId) wanted.set(identityKey(e.siteId, previousId), profileId);
  }
  for (const [key, profileId] of await linkIfFree(models, wanted, mirror)) {
    links.set(key, profileId);
    newlyLinked.set(key, profileId);
  }
}

function toDoc(e: QueuedEvent, links: Map<string, Types.ObjectId>, jobKey?: string): StoredEventDoc {
  const linked = e.anonymousId ? links.get(identityKey(e.siteId, e.anonymousId)) : undefined;
  const receivedAt = new Date(e.receivedAt);
  const doc: StoredEventDoc = {
    _id: new Types.ObjectId(),
    siteId: toObjectId(e.siteId),
    messageId: e.messageId,
    profileId: e.profileId ? toObjectId(e.profileId) : (linked ?? null),
    anonymousId: e.anonymousId,
    sessionId: e.sessionId,
    name: e.name,
    timestamp: new Date(e.timestamp),
    receivedAt,
    properties: e.properties,
    sentBy: e.source,
    userAgent: e.userAgent,
    ip: e.ip,
  };
  if (e.context) doc.context = e.context;
  if (e.flags?.length) doc.flags = e.flags;
  if (jobKey) doc.ingestJob = jobKey;
  return doc;
}

interface InsertOutcome {
  insertedIdx: number[];
  duplicates: number;
  failed: Array<{ index: number; reason: string }>;
}

async function insertEvents(models: Models, docs: NewEventDoc[]): Promise<InsertOutcome> {
  const out: InsertOutcome = { insertedIdx: [], duplicates: 0, failed: [] };
  const bad = new Set<number>();
  try {
    // grouped with the inserts of the jobs running beside this one (one write transaction on FerretDB)
    await groupedInsert(models.Event)(docs);
  } catch (err) {
    const writeErrors = writeErrorsOf(err);
    if (!writeErrors) {
      // connection or server trouble: the whole job retries; anything else is about what an event holds
      if (!isDocumentError(err)) throw err;
      return insertOneByOne(models, docs);
    }
    // a bulk error without write errors (the server went away mid-insert: "connect ECONNREFUSED") says nothing of
    // which documents were stored: the whole job retries, and the retry finds those that were as duplicates
    if (!writeErrors.length) throw err;
    for (const w of writeErrors) {
      bad.add(w.index);
      if (w.code === 11000) out.duplicates++;
      else out.failed.push({ index: w.index, reason: `MongoDB refused the event: ${w.errmsg ?? `code ${w.code}`}` });
    }
  }
  out.insertedIdx = docs.map((_, i) => i).filter((i) => !bad.has(i));
  return out;
}

/** The slow path of a batch the driver or the server refused as a whole: each event on its own. */
async function insertOneByOne(models: Models, docs: NewEventDoc[]): Promise<InsertOutcome> {
  const out: InsertOutcome = { insertedIdx: [], duplicates: 0, failed: [] };
  for (let i = 0; i < docs.length; i++) {
    try {
      await models.Event.insertMany([docs[i]!], { lean: true });
      out.insertedIdx.push(i);
    } catch (err) {
      if (isDuplicateKey(err) || writeErrorsOf(err)?.[0]?.code === 11000) out.duplicates++;
      else if (isDocumentError(err))
        out.failed.push({ index: i, reason: `MongoDB refused the event: ${(err as Error).message}` });
      else throw err;
    }
  }
  return out;
}
