import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Config } from '../config.js';
import {
  type CampaignDoc,
  type CampaignSendDoc,
  findEachById,
  isDuplicateKey,
  type Models,
  type ProfileDoc,
  writeErrorsOf,
} from '../models/index.js';
import { jobIdFor } from '../plugins/queues.js';
import { suppressionKey } from '../profiles/index.js';
import { memberIds } from '../segments/index.js';
import { broadcastMail } from './broadcast-message.js';
import { emailedWithin, noteEmailedIn } from './email-recency.js';
import type { Mailer } from './mailer.js';

export const BROADCAST_JOB = 'broadcast';
export interface BroadcastJob {
  campaignId: string;
}

/** Members read (and the campaign's status checked) per round. */
const PAGE = 200;
/** Messages in flight at once (each still waits for its turn under the rate). */
const IN_FLIGHT = 16;

export const statsKey = (prefix: string, campaignId: string) => `${prefix}:campaign-stats:${campaignId}`;

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

export interface BroadcastDeps {
  config: Config;
  models: Models;
  redis: Redis;
  /** A pooled SMTP connection (see createMailer). */
  mailer: Mailer;
  signingSecret: string;
}

/**
 * One sending run of a broadcast: the segment's members a page at a time, in id order. Each person is claimed by
 * inserting their send record before anything else; a duplicate means an earlier run (or a resumed one) had them,
 * so a worker killed half-way, or a pause and resume, never sends anyone a second message. Those without an
 * address, consent, or who were erased or e-mailed within the frequency cap get a `skipped` record with the
 * reason. Messages leave at most `ratePerSecond`; the status is read again before each group of 16 messages, so
 * a pause stops the run within a group.
 */
export async function runBroadcast(deps: BroadcastDeps, job: Job<BroadcastJob>) {
  const { models, redis } = deps;
  const prefix = deps.config.queuePrefix;
  const campaign = await models.Campaign.findById(job.data.campaignId).lean();
  if (campaign?.status !== 'sending') return { state: campaign?.status ?? 'missing' };
  const id = campaign._id.toHexString();
  const stats = statsKey(prefix, id);
  const turn = pacer(campaign.ratePerSecond);
  /** Read before each group of messages: a pause or cancel stops the run within one group. */
  const stillSending = async () =>
    (await models.Campaign.findById(campaign._id, { status: 1 }).lean())?.status === 'sending';
  const sendPage = async (people: Recipient[]) => {
    const reasons = await reasonsToSkip(deps, campaign, people);
    const records = people.map((p, i) => ({
      _id: `${id}:${p._id.toHexString()}`,
      siteId: campaign.siteId,
      campaignId: campaign._id,
      profileId: p._id,
      email: p.email ?? null,
      state: reasons[i] ? ('skipped' as const) : ('sending' as const),
      ...(reasons[i] ? { reason: reasons[i]! } : {}),
      at: new Date(),
    }));
    // those skipped are recorded for the page at once; those to send a group at a time, just before their messages
    const skips = records.filter((r) => r.state === 'skipped');
    const skipped = await claim(models, skips);
    if (skipped.length) await redis.hincrby(stats, 'skipped', skipped.length);
    const candidates = people.filter((_, i) => !reasons[i]);
    for (let i = 0; i < candidates.length; i += IN_FLIGHT) {
      if (!(await stillSending())) return false;
      const slice = candidates.slice(i, i + IN_FLIGHT);
      const mine = new Set(
        await claim(
          models,
          records.filter((r) => slice.some((p) => p._id.equals(r.profileId))),
        ),
      );
      const group = slice.filter((p) => mine.has(`${id}:${p._id.toHexString()}`));
      if (!group.length) continue;
      await redis.hincrby(stats, 'claimed', group.length);
      const outcomes = await Promise.all(
        group.map(async (p) => {
          await turn();
          try {
            await deps.mailer.send(broadcastMail(deps.config, deps.signingSecret, campaign, p, undefined, true));
            return null;
          } catch (err) {
            return (err as Error).message.slice(0, 500);
          }
        }),
      );
      const at = new Date();
      await models.CampaignSend.bulkWrite(
        group.map((p, k) => ({
          updateOne: {
            filter: { _id: `${id}:${p._id.toHexString()}` },
            update: {
              $set: outcomes[k]
                ? { state: 'failed' as const, reason: outcomes[k]!, at }
                : { state: 'sent' as const, at },
            },
          },
        })),
        { ordered: false },
      );
      const sent = group.filter((_, k) => !outcomes[k]);
      const pipe = redis.pipeline();
      for (const p of sent) noteEmailedIn(pipe, prefix, p._id.toHexString());
      if (sent.length) pipe.hincrby(stats, 'sent', sent.length);
      if (sent.length < group.length) pipe.hincrby(stats, 'failed', group.length - sent.length);
      await pipe.exec();
    }
    return true;
  };

  let cursor: string | null = null;
  for (;;) {
    if (!(await stillSending())) break;
    const ids: string[] = await memberIds(redis, prefix, campaign.segmentId.toHexString(), cursor, PAGE);
    if (!ids.length) break;
    const people = await findEachById(ids, (pid) =>
      models.Profile.findOne(
        { _id: new Types.ObjectId(pid), siteId: campaign.siteId },
        { siteId: 1, email: 1, firstName: 1, lastName: 1, consent: 1 },
      ).lean(),
    );
    if (!(await sendPage(people))) break;
    cursor = ids.at(-1)!;
    await job.updateProgress({ cursor });
  }
  if (!(await stillSending())) {
    return { state: (await models.Campaign.findById(campaign._id, { status: 1 }).lean())?.status ?? 'missing' };
  }
  await models.Campaign.updateOne(
    { _id: campaign._id, status: 'sending' },
    { $set: { status: 'sent', finishedAt: new Date(), updatedAt: new Date() } },
  );
  return { state: 'sent' };
}

type Recipient = Pick<ProfileDoc, '_id' | 'siteId' | 'email' | 'firstName' | 'lastName' | 'consent'>;

/** Why each person is not sent the broadcast (null: they are): no address, no consent, erased, the cap. */
async function reasonsToSkip(
  deps: BroadcastDeps,
  campaign: CampaignDoc,
  people: Recipient[],
): Promise<Array<string | null>> {
  const prefix = deps.config.queuePrefix;
  const erased = await Promise.all(
    people.map((p) =>
      p.email && p.consent?.email === true
        ? deps.models.Suppression.exists({ _id: suppressionKey(p.siteId.toHexString(), p.email) })
        : null,
    ),
  );
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
 * Inserts the send records and answers the ids this run now holds. One insertMany; when some already exist (a
 * resumed or restarted run), each is inserted on its own, since FerretDB 1.24 does not say reliably which
 * documents of an unordered insert it refused.
 */
async function claim(models: Models, records: CampaignSendDoc[]): Promise<string[]> {
  if (!records.length) return [];
  try {
    await models.CampaignSend.insertMany(records, { ordered: false, lean: true });
    return records.map((r) => r._id);
  } catch (err) {
    if (!writeErrorsOf(err) && !isDuplicateKey(err)) throw err;
  }
  const mine = await Promise.all(
    records.map(async (r) => {
      try {
        await models.CampaignSend.insertMany([r], { lean: true });
        return r._id;
      } catch (err) {
        if (isDuplicateKey(err) || writeErrorsOf(err)?.[0]?.code === 11000) return null;
        throw err;
      }
    }),
  );
  return mine.filter((x): x is string => x !== null);
}
