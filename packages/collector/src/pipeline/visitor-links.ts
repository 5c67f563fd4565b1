import { type AnyBulkWriteOperation, Types } from 'mongoose';
import {
  bulkWriteInSlices,
  type EventDoc,
  findEachById,
  identityKey,
  type Models,
  type NewEventDoc,
  type ProfileDoc,
  retryUpsertRace,
  splitIdentityKey,
} from '../models/index.js';
import { mergedInto } from '../profiles/index.js';
import type { LinkMirror } from './link-mirror.js';
import type { QueuedEvent } from './queued-event.js';
import {
  type BackfilledEvent,
  bySite,
  RECORD_FIELDS,
  storedEventOf,
  type UnlinkedEvent,
  type UnlinkedEvents,
} from './unlinked-events.js';

/**
 * Visitor-id links (`identities`: visitor id → profile) and the back-fill of events, ordered so that the end
 * state does not depend on which ingest job runs first, on one worker or many:
 * - a job that links a visitor id writes the link, then back-fills the visitor's stored events;
 * - a job that stores events of a visitor it found unlinked inserts them, then reads the link again and
 *   back-fills when one appeared meanwhile.
 * Either the back-fill runs after the insert and sees the event, or the second read runs after the link and
 * sees it. Aliases (`properties.previousId`) and profile merges follow the same write-then-read rule through
 * `pending_aliases` and `profile_merges`. Their Redis sets of the ids that may have a document (link-mirror.ts)
 * keep it: an id is added before its document is written, so a read the set spares would have found nothing.
 */

export type Links = Map<string, Types.ObjectId>;

/**
 * Upserts of identity documents: `replace` moves an existing link to the new profile, otherwise an existing link
 * stays as it is (the upsert only sets what a new document needs).
 */
function linkWrites(links: Links, replace: boolean) {
  const now = new Date();
  return [...links].map(([key, profileId]) => {
    const { siteId, anonymousId } = splitIdentityKey(key);
    const onInsert = { siteId: new Types.ObjectId(siteId), anonymousId, linkedAt: now };
    return {
      updateOne: {
        filter: { _id: key },
        update: replace
          ? { $set: { profileId }, $setOnInsert: onInsert }
          : { $setOnInsert: { ...onInsert, profileId } },
        upsert: true,
      },
    };
  });
}

/**
 * Links visitor ids to profiles (the latest profile-creating event of a visitor decides), in `identities`, then in
 * the Redis copy: both before the caller back-fills.
 */
export async function saveLinks(models: Models, links: Links, mirror?: LinkMirror): Promise<void> {
  if (!links.size) return;
  const ops = linkWrites(links, true);
  await retryUpsertRace(() => bulkWriteInSlices(models.Identity, ops, { ordered: false }));
  await mirror?.write(links);
}

/**
 * The profiles these visitor ids are linked to now: from the Redis copy of their site's links when it is complete
 * (link-mirror.ts), otherwise a point lookup by `_id` each in `identities`, sent together.
 */
export async function readLinks(models: Models, keys: string[], mirror?: LinkMirror): Promise<Links> {
  const out: Links = new Map();
  if (!keys.length) return out;
  const known = mirror ? await mirror.read(keys) : new Map<string, Types.ObjectId | null>();
  for (const [key, profileId] of known) if (profileId) out.set(key, profileId);
  const asked = known.size ? keys.filter((key) => !known.has(key)) : keys;
  const found = await findEachById(asked, (key) => models.Identity.findById(key, { profileId: 1 }).lean());
  for (const doc of found) out.set(doc._id, doc.profileId);
  return out;
}

/** Alias events whose visitor id is not linked to a profile by the event itself: their visitor → previous ids. */
export function aliasesOf(events: QueuedEvent[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const e of events) {
    const previousId = e.name === 'alias' ? e.properties.previousId : undefined;
    if (typeof previousId !== 'string' || !previousId || !e.anonymousId || previousId === e.anonymousId) continue;
    const key = identityKey(e.siteId, e.anonymousId);
    const set = out.get(key) ?? new Set();
    set.add(previousId);
    out.set(key, set);
  }
  return out;
}

/**
 * Records the job's aliases before their visitors' links are read (see the module comment); with `mirror`, their
 * visitor ids are known to its `aliases` before and after they are written.
 */
export async function notePendingAliases(
  models: Models,
  aliases: Map<string, Set<string>>,
  mirror?: LinkMirror,
): Promise<void> {
  if (!aliases.size) return;
  const at = new Date();
  const ops = [...aliases].map(([key, previous]) => ({
    updateOne: {
      filter: { _id: key },
      update: {
        $addToSet: { previousIds: { $each: [...previous] } },
        $set: { at },
        $setOnInsert: { siteId: new Types.ObjectId(splitIdentityKey(key).siteId) },
      },
      upsert: true,
    },
  }));
  const write = () => retryUpsertRace(() => bulkWriteInSlices(models.PendingAlias, ops, { ordered: false }));
  await (mirror ? mirror.aliases.around(bySite([...aliases.keys()]), write) : write());
}

/** Of these visitor ids, those that may have pending aliases: all of them, unless `mirror` knows better. */
async function mayHaveAliases(keys: string[], mirror?: LinkMirror): Promise<string[]> {
  if (!mirror || !keys.length) return keys;
  const known = await mirror.aliases.mayExist(bySite(keys));
  return keys.filter((key) => {
    const { siteId, anonymousId } = splitIdentityKey(key);
    return known.get(siteId)?.has(anonymousId) ?? true;
  });
}

/**
 * Links the previous ids recorded for these newly linked visitor ids to the same profiles, and theirs in turn
 * (a chain of aliases, at most `depth` deep). A previous id already linked to another profile stays with it.
 * Only visitor ids that may have pending aliases are looked up (`mirror`'s `aliases`; all without it).
 * Returns every link made, for the back-fill.
 */
export async function followAliases(models: Models, linked: Links, mirror?: LinkMirror, depth = 5): Promise<Links> {
  const made: Links = new Map();
  let frontier = linked;
  for (let level = 0; level < depth && frontier.size; level++) {
    const pending = await findEachById(await mayHaveAliases([...frontier.keys()], mirror), (key) =>
      models.PendingAlias.findById(key, { previousIds: 1 }).lean(),
    );
    const wanted: Links = new Map();
    for (const p of pending) {
      const profileId = frontier.get(p._id)!;
      const { siteId } = splitIdentityKey(p._id);
      for (const previousId of p.previousIds ?? []) {
        const key = identityKey(siteId, previousId);
        if (!linked.has(key) && !made.has(key)) wanted.set(key, profileId);
      }
    }
    if (!wanted.size) break;
    frontier = await linkIfFree(models, wanted, mirror);
    for (const [key, profileId] of frontier) made.set(key, profileId);
  }
  return made;
}

/**
 * Links visitor ids only where no profile has them yet (an upsert that sets nothing on an existing link), then
 * reads what stands: returns the links that are now this call's profiles, whoever wrote them.
 */
export async function linkIfFree(models: Models, wanted: Links, mirror?: LinkMirror): Promise<Links> {
  if (!wanted.size) return new Map();
  const ops = linkWrites(wanted, false);
  await retryUpsertRace(() => bulkWriteInSlices(models.Identity, ops, { ordered: false }));
  // what stands is read from `identities` (the copy may not have this call's links yet), then copied
  const standing = await readLinks(models, [...wanted.keys()]);
  await mirror?.write(standing);
  const ours: Links = new Map();
  for (const [key, profileId] of standing) if (profileId.equals(wanted.get(key)!)) ours.set(key, profileId);
  const adds: AnyBulkWriteOperation<ProfileDoc>[] = [...ours].map(([key, profileId]) => ({
    updateOne: {
      filter: { _id: profileId },
      update: { $addToSet: { anonymousIds: splitIdentityKey(key).anonymousId } },
    },
  }));
  if (adds.length) await bulkWriteInSlices(models.Profile, adds, { ordered: false });
  return ours;
}

/**
 * Gives the stored events of these visitor ids that carry no profile the profile their visitor id is linked to.
 * With `records` (unlinked-events.ts), a visitor's events are found in its Redis records and updated by `_id`;
 * the visitors in `uncertain`, and those whose records are not kept, are found by one read of such events per
 * site (on FerretDB a scan of `events`, whatever the filter: docs/production.md), then updated by `_id` each.
 * An event given another profile between the read and its update (the visitor id re-linked and back-filled by
 * another job) ends as if that job's back-fill had run first. Returns the events back-filled, by visitor (every
 * visitor of `links`, none left out: the profile facts count these and read nothing more). Two jobs can
 * back-fill one visitor at once (both read its records, or both found its events): both update its events, and each
 * event is reported by the one that claimed it (UnlinkedEvents.claim), so the facts count it once.
 */
export async function backfill(
  models: Models,
  links: Links,
  records?: UnlinkedEvents,
  uncertain: ReadonlySet<string> = new Set(),
): Promise<Map<string, BackfilledEvent[]>> {
  const found = new Map<string, BackfilledEvent[]>();
  if (!links.size) return found;
  const recorded = records
    ? await records.read([...links.keys()])
    : new Map<string, { events: UnlinkedEvent[]; complete: boolean; marked: boolean }>();
  const ops: AnyBulkWriteOperation<EventDoc>[] = [];
  const bySite = new Map<string, string[]>();
  const fromEvents: string[] = [];
  const unmark: string[] = [];
  for (const [key, profileId] of links) {
    const { events, complete, marked } = recorded.get(key) ?? { events: [], complete: false, marked: false };
    if (complete && !uncertain.has(key)) {
      if (marked) unmark.push(key); // its mark named its events: read by `_id` with the records
      found.set(
        key,
        events.map((e) => ({ ...e, profileId })),
      );
      for (const e of events) ops.push({ updateOne: { filter: { _id: e._id }, update: { $set: { profileId } } } });
      continue;
    }
    const { siteId, anonymousId } = splitIdentityKey(key);
    bySite.set(siteId, [...(bySite.get(siteId) ?? []), anonymousId]);
    fromEvents.push(key);
  }
  for (const [siteId, visitors] of bySite) {
    const unlinked = await models.Event.find(
      { siteId: new Types.ObjectId(siteId), anonymousId: { $in: visitors }, profileId: null },
      RECORD_FIELDS,
    ).lean<Array<NewEventDoc & { _id: Types.ObjectId }>>();
    // what was found is reported as recorded events are, so the profile facts need not read `events` again
    for (const v of visitors) found.set(identityKey(siteId, v), []);
    for (const e of unlinked) {
      const profileId = e.anonymousId ? links.get(identityKey(siteId, e.anonymousId)) : undefined;
      if (!profileId || !e.anonymousId) continue;
      ops.push({ updateOne: { filter: { _id: e._id }, update: { $set: { profileId } } } });
      found.get(identityKey(siteId, e.anonymousId))?.push({ ...storedEventOf(e, e.anonymousId), profileId });
    }
  }
  if (ops.length) await bulkWriteInSlices(models.Event, ops, { ordered: false });
  const ids = [...found.values()].flatMap((events) => events.map((e) => e._id.toHexString()));
  const claimed = records && ids.length ? records.claim(ids) : undefined;
  // what was back-filled, whichever way, is forgotten (a record left behind would be back-filled again later),
  // and so are the marks of the visitors read from `events`
  if (records) {
    const done = new Map<string, string[]>();
    for (const [key, { events }] of recorded)
      if (events.length)
        done.set(
          key,
          events.map((e) => e._id.toHexString()),
        );
    await records.forget(done, [...fromEvents, ...unmark]);
  }
  const mine = await claimed;
  if (!mine) return found;
  const ours = (e: BackfilledEvent) => mine.has(e._id.toHexString());
  for (const [key, events] of found) found.set(key, events.filter(ours));
  return found;
}

/**
 * Moves events and visitor links written with a merged profile's id to the profile it was merged into; the
 * sites' Redis copies of their links are dropped (re-copied by the keeper). Only profiles that may have been merged
 * are looked up (`mirror`'s `merges`; all without it).
 */
export async function followMerges(models: Models, ids: Types.ObjectId[], mirror?: LinkMirror): Promise<void> {
  if (!ids.length) return;
  const moved = await mergedInto(models, ids, mirror?.merges);
  for (const [from, { siteId, into }] of moved) {
    const filter = { siteId, profileId: new Types.ObjectId(from) };
    await models.Identity.updateMany(filter, { $set: { profileId: into } });
    await mirror?.invalidate([siteId.toHexString()]);
    await models.Event.updateMany(filter, { $set: { profileId: into } });
  }
}
