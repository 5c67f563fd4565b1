import { Types } from 'mongoose';
import type { QueuedEvent } from '../ingest/index.js';
import { identityKey, type Models, type NewEventDoc, writeErrorsOf } from '../models/index.js';
import { upsertProfile } from '../profiles/index.js';

const toObjectId = (id: string) => new Types.ObjectId(id);

/** What happened to a job's events. */
export interface ProcessResult {
  /** Events inserted now (not duplicates of earlier attempts). */
  inserted: NewEventDoc[];
  duplicates: number;
  /** Events MongoDB refused for good (not a duplicate, not a connection problem), with the reason. */
  failed: Array<{ event: QueuedEvent; reason: string }>;
}

/** The ingest job a hook runs for: its key (stable across retries) and its events that are stored. */
export interface HookJob {
  key: string;
  /** Every event of the job now in `events`: inserted by this attempt, an earlier one, or another job. */
  stored: QueuedEvent[];
}

/**
 * Runs after events are stored (roll-ups, triggers, webhooks). Must be idempotent per inserted event. `inserted`
 * are the events this attempt inserted; a retried job finds those of its earlier attempts through `job`.
 */
export type AfterInsertHook = (inserted: NewEventDoc[], models: Models, job: HookJob) => Promise<void>;

/**
 * One ingest job, step by step; every step is idempotent, so a job retried after a crash at any point
 * stores each event exactly once:
 * 1. profile-creating events upsert their profile and link the visitor's anonymousId to it;
 * 2. events of already-identified visitors get their profileId;
 * 3. events are inserted unordered; duplicate messageIds (a retried batch) are ignored by the unique index;
 * 4. earlier events of newly linked visitors are back-filled with the profileId.
 */
export async function processEvents(
  models: Models,
  events: QueuedEvent[],
  options: { jobKey?: string } = {},
): Promise<ProcessResult> {
  const links = new Map<string, Types.ObjectId>(); // identity key → profile
  const ordered = [...events].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  for (const e of ordered) {
    if (!e.profile) continue;
    const siteId = toObjectId(e.siteId);
    const profileId = await upsertProfile(models, siteId, e.profile, new Date(e.timestamp), e.anonymousId);
    e.profileId = profileId.toHexString();
    if (e.anonymousId) links.set(identityKey(e.siteId, e.anonymousId), profileId);
  }
  if (links.size) await saveLinks(models, links);

  const unresolved = [
    ...new Set(
      events.filter((e) => !e.profileId && e.anonymousId).map((e) => identityKey(e.siteId, e.anonymousId as string)),
    ),
  ].filter((k) => !links.has(k));
  if (unresolved.length) {
    const found = await models.Identity.find({ _id: { $in: unresolved } }, { profileId: 1 }).lean();
    for (const doc of found) links.set(doc._id, doc.profileId);
  }

  const docs = events.map((e) => toDoc(e, links, options.jobKey));
  const { insertedIdx, duplicates, failed } = await insertEvents(models, docs);
  const inserted = insertedIdx.map((i) => docs[i]!);

  for (const [key, profileId] of links) {
    const sep = key.indexOf(':');
    if (!events.some((e) => e.profile && identityKey(e.siteId, e.anonymousId ?? '') === key)) continue;
    await models.Event.updateMany(
      { siteId: key.slice(0, sep), anonymousId: key.slice(sep + 1), profileId: null },
      { $set: { profileId } },
    );
  }
  return { inserted, duplicates, failed: failed.map(({ index, reason }) => ({ event: events[index]!, reason })) };
}

async function saveLinks(models: Models, links: Map<string, Types.ObjectId>): Promise<void> {
  const now = new Date();
  const ops = [...links].map(([key, profileId]) => {
    const sep = key.indexOf(':');
    return {
      updateOne: {
        filter: { _id: key },
        update: {
          $set: { profileId },
          $setOnInsert: { siteId: toObjectId(key.slice(0, sep)), anonymousId: key.slice(sep + 1), linkedAt: now },
        },
        upsert: true,
      },
    };
  });
  await models.Identity.bulkWrite(ops, { ordered: false });
}

function toDoc(e: QueuedEvent, links: Map<string, Types.ObjectId>, jobKey?: string): NewEventDoc {
  const linked = e.anonymousId ? links.get(identityKey(e.siteId, e.anonymousId)) : undefined;
  const doc: NewEventDoc = {
    siteId: toObjectId(e.siteId),
    messageId: e.messageId,
    profileId: e.profileId ? toObjectId(e.profileId) : (linked ?? null),
    anonymousId: e.anonymousId,
    sessionId: e.sessionId,
    name: e.name,
    timestamp: new Date(e.timestamp),
    receivedAt: new Date(e.receivedAt),
    properties: e.properties,
    source: e.source,
    userAgent: e.userAgent,
    ip: e.ip,
  };
  if (e.context) doc.context = e.context;
  if (e.flags?.length) doc.flags = e.flags;
  if (jobKey) doc.ingestJob = jobKey;
  return doc;
}

async function insertEvents(models: Models, docs: NewEventDoc[]) {
  const failed: Array<{ index: number; reason: string }> = [];
  let duplicates = 0;
  const bad = new Set<number>();
  try {
    await models.Event.insertMany(docs, { ordered: false, lean: true });
  } catch (err) {
    const writeErrors = writeErrorsOf(err);
    if (!writeErrors) throw err; // connection or server trouble: the whole job retries
    for (const w of writeErrors) {
      bad.add(w.index);
      if (w.code === 11000) duplicates++;
      else failed.push({ index: w.index, reason: `MongoDB refused the event: ${w.errmsg ?? `code ${w.code}`}` });
    }
  }
  const insertedIdx = docs.map((_, i) => i).filter((i) => !bad.has(i));
  return { insertedIdx, duplicates, failed };
}
