import { randomBytes } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Config } from '../config.js';
import {
  type CampaignClaimDoc,
  type CampaignDoc,
  type CampaignSendDoc,
  type CampaignSendState,
  findEachById,
  isDuplicateKey,
  type Models,
  type ProfileDoc,
  writeErrorsOf,
} from '../models/index.js';
import { jobIdFor } from '../plugins/queues.js';
import { suppressionKey } from '../profiles/index.js';
import { areMembers, countMembers, memberIds } from '../segments/index.js';
import { broadcastMail } from './broadcast-message.js';
import { emailedWithin, noteEmailedIn } from './email-recency.js';
import type { Mailer } from './mailer.js';
import { opensTracked } from './open-pixel.js';

export const BROADCAST_JOB = 'broadcast';
export interface BroadcastJob {
  campaignId: string;
}

/** Members read per round (the next page is read while this one is sent). */
const PAGE = 200;
/** Messages claimed and not yet answered by SMTP, at most: also the most a run killed half-way leaves `sending`. */
const IN_FLIGHT = 16;
/** Send records claimed by one insert (and the campaign's status read before each). */
const CHUNK = 8;
/** Outcomes written to campaign_sends by one insert. */
const FLUSH_AT = 100;
/** A run marks itself alive in Redis for this long, again every third of it. */
const ALIVE_MS = 15_000;

export const statsKey = (prefix: string, campaignId: string) => `${prefix}:campaign-stats:${campaignId}`;
/** Profile id → `<run>|send` or `<run>|skip|<reason>`: claimed (or about to be), outcome not known yet. */
const inFlightKey = (prefix: string, campaignId: string) => `${prefix}:campaign-inflight:${campaignId}`;
/** Profile id → the outcome (JSON) not yet written to campaign_sends. */
const outcomesKey = (prefix: string, campaignId: string) => `${prefix}:campaign-outcomes:${campaignId}`;
/** Profile ids whose outcome is known: a resumed run passes over them without reading their profiles. */
const doneKey = (prefix: string, campaignId: string) => `${prefix}:campaign-done:${campaignId}`;
const aliveKey = (prefix: string, run: string) => `${prefix}:campaign-run:${run}`;

/** A broadcast's Redis keys (progress counters and its runs' state), deleted with the broadcast. */
export const campaignKeys = (prefix: string, campaignId: string) => [
  statsKey(prefix, campaignId),
  inFlightKey(prefix, campaignId),
  outcomesKey(prefix, campaignId),
  doneKey(prefix, campaignId),
];

/** Queues a campaign's sending run: now, or at its scheduled time. Each run (start, resume) is its own job. */
export async function queueBroadcast(
  queue: Pick<Queue, 'add'>,
  campaign: Pick<CampaignDoc, '_id' | 'runs'>,
  at?: Date,
) {
  const id = campaign._id.toHexString();
  await queue.add(
    BROADCAST_JOB,
    { campaignId: id },
    { jobId: jobIdFor('bc', `${id}:${campaign.runs}`), delay: at ? Math.max(0, at.getTime() - Date.now()) : 0 },
  );
}

/** Lets calls through at most `rate` a second, in order. */
function pacer(rate: number) {
  let next = Date.now();
  return async () => {
    const now = Date.now();
    const at = Math.max(now, next);
    next = at + 1000 / rate;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  };
}

/** Runs a transaction; an error of any of its commands is thrown. */
async function execAll(tx: ChainableCommander) {
  const failed = ((await tx.exec()) ?? []).find(([err]) => err);
  if (failed) throw failed[0];
}

/** At most `size` taken at once; `take` waits for room. */
function slots(size: number) {
  let used = 0;
  let waiting: Array<() => void> = [];
  return {
    async take(n: number) {
      while (used + n > size) await new Promise<void>((r) => waiting.push(r));
      used += n;
    },
    give(n: number) {
      used -= n;
      const woken = waiting;
      waiting = [];
      for (const w of woken) w();
    },
  };
}

export interface BroadcastDeps {
  config: Config;
  models: Models;
  redis: Redis;
  /** A pooled SMTP connection (see createMailer). */
  mailer: Mailer;
  signingSecret: string;
}

/** What became of one person, as kept in Redis until it is written to campaign_sends. */
interface Outcome {
  run: string;
  state: CampaignSendState;
  email: string | null;
  reason?: string;
  at: number;
}

/**
 * One sending run of a broadcast: the segment's members a page at a time, in id order (the next page's profiles
 * are read while this one is sent). Each person is claimed by inserting their record in campaign_claims before
 * anything else, eight at a time; a duplicate means an earlier run (or a resumed one) had them, so a worker
 * killed half-way, or a pause and resume, never sends anyone a second message. Those without an address,
 * consent, or who were erased or e-mailed within the frequency cap are recorded `skipped` with the reason.
 *
 * Outcomes are written insert-only (FerretDB 1.24 scans the collection for a write by `_id`): each is kept in
 * Redis with the progress counters in one transaction as SMTP answers, and written to campaign_sends a hundred
 * at a time. Before its claim is inserted a person is marked in flight (with the run's token, which the run
 * keeps alive in Redis); a run that finds marks of a dead run settles them: a person claimed by it whose outcome
 * is unknown is recorded `sending` (the message may have left; never sent again), one it never claimed is
 * forgotten. Messages leave at most `ratePerSecond`, at most 16 claimed and unanswered at once; the status is
 * read after each claim of eight and checked before the next, so a pause stops the run within 24 messages.
 */
export async function runBroadcast(deps: BroadcastDeps, job: Job<BroadcastJob>) {
  const { models, redis } = deps;
  const prefix = deps.config.queuePrefix;
  const campaign = await models.Campaign.findById(job.data.campaignId).lean();
  if (campaign?.status !== 'sending') return { state: campaign?.status ?? 'missing' };
  const run = randomBytes(8).toString('hex');
  const alive = aliveKey(prefix, run);
  await redis.set(alive, '1', 'PX', ALIVE_MS);
  const heartbeat = setInterval(() => {
    redis.set(alive, '1', 'PX', ALIVE_MS).catch(() => {});
  }, ALIVE_MS / 3);
  try {
    const book = outcomeBook(deps, campaign, run);
    await settle(deps, campaign, book, false);
    const finished = await sendAll(deps, campaign, run, book, job);
    if (!finished) {
      return { state: (await models.Campaign.findById(campaign._id, { status: 1 }).lean())?.status ?? 'missing' };
    }
    // the outcomes of runs that died (or are stopping after a pause) are written before the campaign is done
    await settle(deps, campaign, book, true);
    await models.Campaign.updateOne(
      { _id: campaign._id, status: 'sending' },
      { $set: { status: 'sent', finishedAt: new Date(), updatedAt: new Date() } },
    );
    await redis.del(doneKey(prefix, campaign._id.toHexString()));
    return { state: 'sent' };
  } finally {
    clearInterval(heartbeat);
    await redis.del(alive);
  }
}

/** Sends to every member not handled yet; false when the campaign stopped sending (paused, cancelled). */
async function sendAll(
  deps: BroadcastDeps,
  campaign: CampaignDoc,
  run: string,
  book: ReturnType<typeof outcomeBook>,
  job: Job<BroadcastJob>,
): Promise<boolean> {
  const { models, redis } = deps;
  const prefix = deps.config.queuePrefix;
  const id = campaign._id.toHexString();
  const stats = statsKey(prefix, id);
  const inFlight = inFlightKey(prefix, id);
  const turn = pacer(campaign.ratePerSecond);
  // the site's open tracking as the run starts (a change applies to the next run)
  const tracking = { opens: await opensTracked(models, campaign.siteId) };
  const room = slots(IN_FLIGHT);
  const sending = new Set<Promise<void>>();
  let failure: unknown = null;
  const stillSending = async () =>
    (await models.Campaign.findById(campaign._id, { status: 1 }).lean())?.status === 'sending';
  /** The status for the next claim, read while the run waits for room (one read per claim, off the path). */
  let statusRead: Promise<boolean> | null = null;
  const sendingStill = () => {
    const read = statusRead ?? stillSending();
    statusRead = null;
    return read;
  };
  const claimRecord = (p: Recipient): CampaignClaimDoc => ({
    _id: `${id}:${p._id.toHexString()}`,
    siteId: campaign.siteId,
    campaignId: campaign._id,
    profileId: p._id,
    run,
    at: new Date(),
  });
  /** Marks people in flight, inserts their claims, and answers those this run holds (the others are unmarked). */
  const claimPeople = async (people: Recipient[], marks: string[], counted: boolean) => {
    const mark = redis.multi();
    for (const [i, p] of people.entries()) mark.hset(inFlight, p._id.toHexString(), marks[i]!);
    if (counted) mark.hincrby(stats, 'claimed', people.length);
    await execAll(mark);
    const mine = new Set(await claim(models, people.map(claimRecord)));
    const theirs = people.filter((p) => !mine.has(`${id}:${p._id.toHexString()}`));
    if (theirs.length) {
      const unmark = redis.multi();
      unmark.hdel(inFlight, ...theirs.map((p) => p._id.toHexString()));
      if (counted) unmark.hincrby(stats, 'claimed', -theirs.length);
      await execAll(unmark);
    }
    return people.filter((p) => mine.has(`${id}:${p._id.toHexString()}`));
  };
  const sendOne = async (p: Recipient) => {
    await turn();
    let reason: string | null = null;
    try {
      await deps.mailer.send(broadcastMail(deps.config, deps.signingSecret, campaign, p, undefined, tracking));
    } catch (err) {
      reason = (err as Error).message.slice(0, 500);
    }
    await book.record(
      p._id.toHexString(),
      reason
        ? { run, state: 'failed', email: p.email ?? null, reason, at: Date.now() }
        : { run, state: 'sent', email: p.email ?? null, at: Date.now() },
    );
  };
  const sendPage = async ({ people, reasons }: Page) => {
    const skips = people.filter((_, i) => reasons[i]);
    if (skips.length) {
      const why = new Map(people.map((p, i) => [p, reasons[i]!]));
      const mine = await claimPeople(
        skips,
        skips.map((p) => `${run}|skip|${why.get(p)}`),
        false,
      );
      for (const p of mine) {
        await book.record(p._id.toHexString(), {
          run,
          state: 'skipped',
          email: p.email ?? null,
          reason: why.get(p)!,
          at: Date.now(),
        });
      }
    }
    const candidates = people.filter((_, i) => !reasons[i]);
    for (let i = 0; i < candidates.length; i += CHUNK) {
      if (failure) throw failure;
      const chunk = candidates.slice(i, i + CHUNK);
      await room.take(chunk.length);
      if (!(await sendingStill())) {
        room.give(chunk.length);
        return false;
      }
      const mine = await claimPeople(
        chunk,
        chunk.map(() => `${run}|send`),
        true,
      );
      statusRead = stillSending();
      statusRead.catch(() => {}); // awaited before the next claim
      room.give(chunk.length - mine.length);
      for (const p of mine) {
        const done: Promise<void> = sendOne(p)
          .catch((err) => {
            failure ??= err;
          })
          .finally(() => {
            room.give(1);
            sending.delete(done);
          });
        sending.add(done);
      }
    }
    return true;
  };
  let finished = false;
  const erased = await erasedKeys(models, campaign.siteId);
  const pages = audience(deps, campaign);
  const read = async () => {
    const { value: people, done } = await pages.next();
    return done ? null : { people, reasons: await reasonsToSkip(deps, campaign, people, erased) };
  };
  let sent = 0;
  try {
    let next = read();
    for (;;) {
      if (!(await stillSending())) break;
      const page = await next;
      if (!page) {
        finished = true;
        break;
      }
      next = read(); // the next page is read while this one is sent
      next.catch(() => {}); // awaited on the next round; a pause leaves it unread
      if (!(await sendPage(page))) break;
      book.flushSoon();
      sent += page.people.length;
      await job.updateProgress({ handled: sent });
    }
  } finally {
    await pages.return(undefined);
    await Promise.all([...sending]);
    await book.flush();
  }
  if (failure) throw failure;
  return finished && (await stillSending());
}

interface Page {
  people: Recipient[];
  reasons: Array<string | null>;
}

const RECIPIENT = { siteId: 1, email: 1, firstName: 1, lastName: 1, consent: 1 } as const;

/**
 * The segment's members not handled yet (an earlier run's outcome is known), a page at a time. FerretDB 1.24
 * serves a point read by `_id` from its index (about 4 ms each on a loaded machine) but reads a whole
 * collection for anything else, about 0.2 ms a document: when the segment holds at least a twentieth of the
 * stored profiles, one pass over the site's profiles (members picked by one ZMSCORE a page) is cheaper than a
 * point read per member, which is used for smaller segments (pages of member ids in id order), and for
 * campaigns slower than a page a minute (the server closes a cursor left idle for minutes).
 */
async function* audience(deps: BroadcastDeps, campaign: CampaignDoc): AsyncGenerator<Recipient[]> {
  const { models, redis } = deps;
  const prefix = deps.config.queuePrefix;
  const id = campaign._id.toHexString();
  const segmentId = campaign.segmentId.toHexString();
  const notDone = async (ids: string[]) => {
    if (!ids.length) return [];
    const done = await redis.smismember(doneKey(prefix, id), ...ids);
    return done.map((d) => d === 0);
  };
  const members = await countMembers(redis, prefix, segmentId);
  // a slow campaign would leave the cursor idle between pages, and the server closes idle cursors
  const pageWithinAMinute = campaign.ratePerSecond * 60 >= PAGE;
  if (pageWithinAMinute && members * 20 >= (await models.Profile.estimatedDocumentCount())) {
    const cursor = models.Profile.find({ siteId: campaign.siteId }, RECIPIENT).lean().cursor({ batchSize: PAGE });
    try {
      let batch: Recipient[] = [];
      const pick = async () => {
        const ids = batch.map((p) => p._id.toHexString());
        const [member, todo] = await Promise.all([areMembers(redis, prefix, segmentId, ids), notDone(ids)]);
        const page = batch.filter((_, i) => member[i] && todo[i]);
        batch = [];
        return page;
      };
      for await (const p of cursor) {
        batch.push(p as Recipient);
        if (batch.length >= PAGE) yield await pick();
      }
      if (batch.length) yield await pick();
    } finally {
      await cursor.close();
    }
    return;
  }
  let after: string | null = null;
  for (;;) {
    const ids: string[] = await memberIds(redis, prefix, segmentId, after, PAGE);
    if (!ids.length) return;
    after = ids.at(-1)!;
    const todo = await notDone(ids);
    const found = await findEachById(
      ids.filter((_, i) => todo[i]),
      (pid) => models.Profile.findOne({ _id: new Types.ObjectId(pid) }, RECIPIENT).lean(), // `_id` alone: indexed
    );
    yield found.filter((p) => p.siteId.equals(campaign.siteId));
  }
}

/** The site's suppressed e-mails (erased people), read once per run: one read of the collection. */
async function erasedKeys(models: Models, siteId: Types.ObjectId) {
  const rows = await models.Suppression.find({ siteId, until: { $gt: new Date() } }, { _id: 1 }).lean();
  return new Set(rows.map((r) => r._id));
}

/**
 * A run's outcomes: each kept in Redis with the counters as it is known (one transaction: the person leaves the
 * in-flight marks, joins the done set, and `sent`, `failed` or `skipped` is counted), then written to
 * campaign_sends by insertMany, a hundred at a time, and dropped from Redis.
 */
function outcomeBook(deps: BroadcastDeps, campaign: CampaignDoc, run: string) {
  const { redis, models } = deps;
  const prefix = deps.config.queuePrefix;
  const id = campaign._id.toHexString();
  let pending: Array<[string, Outcome]> = [];
  let writing: Promise<void> = Promise.resolve();
  let failure: unknown = null;
  const write = async (batch: Array<[string, Outcome]>) => {
    await writeOutcomes(models, campaign, batch);
    await redis.hdel(outcomesKey(prefix, id), ...batch.map(([pid]) => pid));
  };
  const flushSoon = () => {
    if (!pending.length) return writing;
    const batch = pending;
    pending = [];
    writing = writing.then(() =>
      write(batch).catch((err) => {
        failure ??= err;
      }),
    );
    return writing;
  };
  return {
    async record(pid: string, outcome: Outcome) {
      const tx = redis.multi();
      tx.hdel(inFlightKey(prefix, id), pid);
      tx.hset(outcomesKey(prefix, id), pid, JSON.stringify(outcome));
      tx.sadd(doneKey(prefix, id), pid);
      if (outcome.state !== 'sending') tx.hincrby(statsKey(prefix, id), outcome.state, 1);
      if (outcome.state === 'sent') noteEmailedIn(tx, prefix, pid, outcome.at);
      await execAll(tx);
      if (outcome.run !== run) return; // a dead run's, settled: written by the settling run below
      pending.push([pid, outcome]);
      if (pending.length >= FLUSH_AT) flushSoon();
    },
    flushSoon: () => {
      flushSoon();
    },
    async flush() {
      await flushSoon();
      if (failure) throw failure;
    },
    write,
  };
}

/**
 * Writes outcomes to campaign_sends, insert-only. A duplicate (the outcome was written already, and the run died
 * before dropping it from Redis) is left as it is, unless the record says `sending`: a run was taken for dead
 * while its message was in flight, and the outcome that came after replaces it (rare: one update each).
 */
async function writeOutcomes(models: Models, campaign: CampaignDoc, batch: Array<[string, Outcome]>) {
  if (!batch.length) return;
  const id = campaign._id.toHexString();
  const docs: CampaignSendDoc[] = batch.map(([pid, o]) => ({
    _id: `${id}:${pid}`,
    siteId: campaign.siteId,
    campaignId: campaign._id,
    profileId: new Types.ObjectId(pid),
    email: o.email,
    state: o.state,
    ...(o.reason ? { reason: o.reason } : {}),
    at: new Date(o.at),
  }));
  try {
    await models.CampaignSend.insertMany(docs, { ordered: false, lean: true });
    return;
  } catch (err) {
    if (!writeErrorsOf(err) && !isDuplicateKey(err)) throw err;
  }
  for (const doc of docs) {
    try {
      await models.CampaignSend.insertMany([doc], { lean: true });
    } catch (err) {
      if (!isDuplicateKey(err) && writeErrorsOf(err)?.[0]?.code !== 11000) throw err;
      if (doc.state !== 'sending') {
        const { _id, ...outcome } = doc;
        await models.CampaignSend.updateOne({ _id, state: 'sending' }, { $set: outcome });
      }
    }
  }
}

/**
 * What earlier runs left: outcomes still in Redis are written, and the in-flight marks of runs no longer alive
 * are settled — claimed by that run: `skipped` with its reason, or `sending` (the message may have left; counted
 * in flight); not claimed by it: forgotten (and uncounted). `wait`: also wait (up to two minutes) for live runs
 * of the campaign, stopping after a pause, to finish, so a finished campaign has every outcome written.
 */
async function settle(deps: BroadcastDeps, campaign: CampaignDoc, book: ReturnType<typeof outcomeBook>, wait: boolean) {
  const { redis, models } = deps;
  const prefix = deps.config.queuePrefix;
  const id = campaign._id.toHexString();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const marks = Object.entries(await redis.hgetall(inFlightKey(prefix, id)));
    const runs = [...new Set(marks.map(([, m]) => m.split('|')[0]!))];
    const living = new Set<string>();
    if (runs.length) {
      const alive = await redis.mget(runs.map((r) => aliveKey(prefix, r)));
      for (const [i, r] of runs.entries()) if (alive[i]) living.add(r);
    }
    const dead = marks.filter(([, m]) => !living.has(m.split('|')[0]!));
    const claims = await findEachById(dead, ([pid]) =>
      models.CampaignClaim.findOne({ _id: `${id}:${pid}` }, { run: 1 }).lean(),
    );
    const claimedBy = new Map(claims.map((c) => [c._id.slice(id.length + 1), c.run]));
    for (const [pid, mark] of dead) {
      const [markRun, intent, ...why] = mark.split('|');
      if (claimedBy.get(pid) === markRun) {
        await book.record(pid, {
          run: markRun!,
          state: intent === 'skip' ? 'skipped' : 'sending',
          email: null,
          ...(intent === 'skip' ? { reason: why.join('|') } : {}),
          at: Date.now(),
        });
      } else {
        const tx = redis.multi();
        tx.hdel(inFlightKey(prefix, id), pid);
        if (intent === 'send') tx.hincrby(statsKey(prefix, id), 'claimed', -1);
        await execAll(tx);
      }
    }
    // outcomes of runs no longer alive (they died before writing them, or were settled just now)
    const kept = Object.entries(await redis.hgetall(outcomesKey(prefix, id)))
      .map(([pid, json]): [string, Outcome] => [pid, JSON.parse(json) as Outcome])
      .filter(([, o]) => !living.has(o.run));
    for (let i = 0; i < kept.length; i += 500) await book.write(kept.slice(i, i + 500));
    if (!wait || !living.size || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

type Recipient = Pick<ProfileDoc, '_id' | 'siteId' | 'email' | 'firstName' | 'lastName' | 'consent'>;

/** Why each person is not sent the broadcast (null: they are): no address, no consent, erased, the cap. */
async function reasonsToSkip(
  deps: BroadcastDeps,
  campaign: CampaignDoc,
  people: Recipient[],
  erasedKeys: Set<string>,
): Promise<Array<string | null>> {
  const prefix = deps.config.queuePrefix;
  const erased = people.map((p) => !!p.email && erasedKeys.has(suppressionKey(p.siteId.toHexString(), p.email)));
  const cap = campaign.frequencyCapHours;
  const recent = cap
    ? await emailedWithin(
        deps.redis,
        prefix,
        people.map((p) => p._id.toHexString()),
        cap,
      )
    : [];
  return people.map((p, i) =>
    !p.email
      ? 'no e-mail address'
      : p.consent?.email !== true
        ? 'no e-mail consent'
        : erased[i]
          ? 'erased'
          : recent[i]
            ? `e-mailed in the last ${cap} hours`
            : null,
  );
}

/**
 * Inserts the claims and answers the ids this run now holds. One insertMany; when some already exist (a resumed
 * or restarted run), each is inserted on its own, since FerretDB 1.24 does not say reliably which documents of
 * an unordered insert it refused.
 */
async function claim(models: Models, records: CampaignClaimDoc[]): Promise<string[]> {
  if (!records.length) return [];
  try {
    await models.CampaignClaim.insertMany(records, { ordered: false, lean: true });
    return records.map((r) => r._id);
  } catch (err) {
    if (!writeErrorsOf(err) && !isDuplicateKey(err)) throw err;
  }
  const mine = await Promise.all(
    records.map(async (r) => {
      try {
        await models.CampaignClaim.insertMany([r], { lean: true });
        return r._id;
      } catch (err) {
        if (isDuplicateKey(err) || writeErrorsOf(err)?.[0]?.code === 11000) return null;
        throw err;
      }
    }),
  );
  return mine.filter((x): x is string => x !== null);
}
