import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import {
  bulkWriteInSlices,
  type Models,
  type NewEventDoc,
  type ProfileFactsDoc,
  splitIdentityKey,
} from '../models/index.js';
import { evaluate, loadSegments, peopleOf, type SiteSegments } from './evaluate.js';
import { addEvents, emptyFacts, pruneDays, remember } from './facts.js';
import { applyMembership, bumpRevisions, type Revisions } from './membership.js';
import { type LockRedis, withProfileLocks } from './profile-locks.js';

/** A stored event a profile's facts count (all of a NewEventDoc the facts read). */
export type BackfilledEvent = Pick<
  NewEventDoc,
  'name' | 'timestamp' | 'properties' | 'sentBy' | 'source' | 'geo' | 'bot' | 'anonymousId' | 'ingestJob' | 'profileId'
>;

export interface FactsDeps {
  models: Models;
  redis: LockRedis & Pick<Redis, 'pipeline'>;
  prefix: string;
  /** Each site's segments (cached by the wiring); without it no membership is updated. */
  segments?: SiteSegments;
}

/**
 * Keeps profile facts and segment membership current: called once per ingest job (or batch of jobs stored
 * together) with the events the jobs are responsible for (ownedParts), after they are stored. Per profile the
 * call touches, under a Redis lock, its facts are read (an `_id` lookup), each job's events added unless that job
 * was counted already (a retry; an event's job is its `ingestJob`, else `jobKey`), and
 * the facts written back, all in one bulkWrite; then the profiles are evaluated against their site's segments.
 *
 * An event counts when it gains its profile: the job that stores it with one counts it, and one stored without
 * is counted by the job whose back-fill gave it its profile (`backfilled`: the back-fill reports only the events
 * whose record it took, so two jobs back-filling one visitor at once count each event once between them). So
 * browsing before sign-in counts, whichever job links the visitor and in whatever order jobs run. When an earlier
 * attempt of a job may have back-filled events and failed before counting them (`fresh` false: some events were
 * stored by that attempt), or without `backfilled`, the earlier events of the visitors new to the profile are read
 * from `events` too.
 */
export async function recordProfileFacts(
  deps: FactsDeps,
  events: NewEventDoc[],
  jobKey: string,
  backfilled?: ReadonlyMap<string, BackfilledEvent[]>,
  fresh = true,
): Promise<void> {
  const byProfile = new Map<string, NewEventDoc[]>();
  for (const e of events) {
    if (!e.profileId) continue;
    const key = e.profileId.toHexString();
    const list = byProfile.get(key);
    if (list) list.push(e);
    else byProfile.set(key, [e]);
  }
  // the events back-filled, by profile; the profiles among them with no event of the jobs' own are counted too (an
  // alias's earlier visitor id, or jobs whose events were stored without a profile while another job linked them)
  const own = new Set(events.flatMap((e) => (e.profileId && idOf(e) ? [idOf(e)] : [])));
  const earlier = new Map<string, Earlier>();
  for (const [visitor, list] of backfilled ?? []) {
    const siteId = new Types.ObjectId(splitIdentityKey(visitor).siteId);
    for (const e of list) {
      // a stored copy of the jobs' own events (a retried job's) counts as theirs
      if (!e.profileId || own.has(idOf(e))) continue;
      const key = e.profileId.toHexString();
      const entry = earlier.get(key) ?? { siteId, events: [] };
      entry.events.push(e);
      earlier.set(key, entry);
      if (!byProfile.has(key)) byProfile.set(key, []);
    }
  }
  if (!byProfile.size) return;
  // the revisions are raised under the locks, so the next job's facts come with a later one
  const { written, revisions } = await withProfileLocks(deps.redis, deps.prefix, [...byProfile.keys()], async () => {
    const facts = await writeFacts(deps.models, byProfile, jobKey, earlier, !fresh || !backfilled);
    return { written: facts, revisions: await bumpRevisions(deps.redis, deps.prefix, [...byProfile.keys()]) };
  });
  if (deps.segments) await updateMembership(deps, written, revisions);
}

/** A stored event's `_id` as hex ('' when it has none). */
const idOf = (e: object) => (e as { _id?: Types.ObjectId })._id?.toHexString() ?? '';

/** The events a job back-filled onto one profile, and the profile's site. */
interface Earlier {
  siteId: Types.ObjectId;
  events: BackfilledEvent[];
}

/**
 * `earlier`: the events the jobs back-filled, by profile (see recordProfileFacts). `read`: also read the earlier
 * events of the visitors new to their profile from `events`, by one read per site for the whole call (a read per
 * visitor is a pass over every stored event each on FerretDB, and so is this one).
 */
async function writeFacts(
  models: Models,
  byProfile: Map<string, NewEventDoc[]>,
  jobKey: string,
  earlier: ReadonlyMap<string, Earlier>,
  read: boolean,
): Promise<ProfileFactsDoc[]> {
  // each event's own job (an ingest worker's batch stores several jobs' events together)
  const keyOf = (e: Pick<NewEventDoc, 'ingestJob'>) => e.ingestJob ?? jobKey;
  const keys = new Set<string>([jobKey]);
  for (const events of byProfile.values()) for (const e of events) keys.add(keyOf(e));
  const ids = [...byProfile.keys()].map((id) => new Types.ObjectId(id));
  const current = await Promise.all(ids.map((_id) => models.ProfileFacts.findById(_id).lean()));
  const out: ProfileFactsDoc[] = [];
  const counted: ProfileFactsDoc[] = [];
  const todo: Array<{
    profileId: Types.ObjectId;
    facts: ProfileFactsDoc;
    events: BackfilledEvent[];
    visitors: string[];
    jobs: Set<string>;
  }> = [];
  ids.forEach((profileId, i) => {
    const have = current[i];
    const all = byProfile.get(profileId.toHexString())!;
    const own = have ? all.filter((e) => !have.jobs.includes(keyOf(e))) : all;
    const backfilled = earlier.get(profileId.toHexString());
    const events: BackfilledEvent[] = [...own, ...(backfilled?.events ?? [])];
    if (!events.length) {
      counted.push(have!); // earlier attempts of these jobs counted them (their membership is evaluated again)
      return;
    }
    const facts = have ?? emptyFacts(profileId, all[0]?.siteId ?? backfilled!.siteId);
    const visitors = [...new Set(events.flatMap((e) => (e.anonymousId ? [e.anonymousId] : [])))];
    todo.push({ profileId, facts, events, visitors, jobs: new Set(own.map(keyOf)) });
  });
  const earlierOf = new Map<string, BackfilledEvent[]>(); // `<site>:<visitor>` → their stored events of other jobs
  const wanted = new Map<string, { siteId: Types.ObjectId; visitors: Set<string> }>();
  for (const t of read ? todo : []) {
    const known = new Set(t.facts.visitors);
    const site = t.facts.siteId.toHexString();
    const entry = wanted.get(site) ?? { siteId: t.facts.siteId, visitors: new Set<string>() };
    for (const v of t.visitors) if (!known.has(v)) entry.visitors.add(v);
    wanted.set(site, entry);
  }
  for (const [site, { siteId, visitors }] of wanted) {
    if (!visitors.size) continue;
    const found = await models.Event.find({ siteId, anonymousId: { $in: [...visitors] } }).lean<NewEventDoc[]>();
    for (const e of found) {
      if (keys.has(keyOf(e)) || !e.anonymousId) continue;
      const key = `${site}:${e.anonymousId}`;
      earlierOf.set(key, [...(earlierOf.get(key) ?? []), e]);
    }
  }
  for (const { profileId, facts, events, visitors, jobs } of todo) {
    const known = new Set(facts.visitors);
    const site = facts.siteId.toHexString();
    const counting = new Set(events.map(idOf));
    const found = visitors
      .filter((v) => !known.has(v))
      .flatMap((v) => earlierOf.get(`${site}:${v}`) ?? [])
      .filter((e) => e.profileId?.equals(profileId) && !counting.has(idOf(e)));
    addEvents(facts, [...events, ...found]);
    pruneDays(facts);
    for (const key of jobs) remember(facts, key, visitors);
    if (!jobs.size) remember(facts, null, visitors);
    facts.updatedAt = new Date();
    out.push(facts);
  }
  if (out.length) {
    await bulkWriteInSlices(
      models.ProfileFacts,
      out.map((f) => ({ replaceOne: { filter: { _id: f._id }, replacement: f, upsert: true } })),
      { ordered: false },
    );
  }
  return [...out, ...counted];
}

/**
 * Evaluates the profiles whose facts changed against their site's segments: their profiles are read after their
 * revisions were raised, and the outcome is written only where no later change raised them again.
 */
export async function updateMembership(
  deps: FactsDeps,
  written: ProfileFactsDoc[],
  revisions: Revisions,
): Promise<void> {
  if (!deps.segments || !written.length) return;
  const bySite = new Map<string, ProfileFactsDoc[]>();
  for (const f of written) bySite.set(f.siteId.toHexString(), [...(bySite.get(f.siteId.toHexString()) ?? []), f]);
  const segments = await deps.segments([...bySite.keys()]);
  for (const [siteId, facts] of bySite) {
    const siteSegments = segments.get(siteId) ?? [];
    if (!siteSegments.length) continue;
    const known = new Map(facts.map((f) => [f._id.toHexString(), f]));
    const people = await peopleOf(
      deps.models,
      facts[0]!.siteId,
      facts.map((f) => f._id),
      known,
    );
    await applyMembership(deps.redis, deps.prefix, evaluate(siteSegments, people), revisions);
  }
}

/**
 * Evaluates profiles again after a change outside the worker (the profile API: consent, tags, metadata; a consent
 * link; an erasure), called after the change is stored.
 */
export async function reevaluateProfiles(
  deps: Omit<FactsDeps, 'segments'>,
  siteId: Types.ObjectId,
  profileIds: Types.ObjectId[],
): Promise<void> {
  const segments = (await loadSegments(deps.models)([siteId.toHexString()])).get(siteId.toHexString()) ?? [];
  if (!segments.length) return;
  const revisions = await bumpRevisions(
    deps.redis,
    deps.prefix,
    profileIds.map((id) => id.toHexString()),
  );
  const people = await peopleOf(deps.models, siteId, profileIds);
  await applyMembership(deps.redis, deps.prefix, evaluate(segments, people), revisions);
}
