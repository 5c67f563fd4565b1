import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Config } from '../config.js';
import type { EventDoc, Models } from '../models/index.js';
import { jobIdFor } from '../plugins/queues.js';
import { survivorOf } from '../profiles/index.js';
import { recordDelivery } from '../webhooks/index.js';
import { takeConfirmAllowance } from './confirmation-limits.js';
import type { Mailer } from './mailer.js';
import { escapeHtml } from './templates.js';
import { unsubscribeUrl } from './unsubscribe-links.js';

/**
 * Double opt-in. On a site whose consent mode is `double`, a browser's "yes" (a ticked form box, an identify
 * with consent) is stored as a request (the event flagged `consent_requested`); the person gets an e-mail with a
 * signed link, and only following it records consent (source `confirmation`).
 */
export const CONSENT_REQUESTED = 'consent_requested';
export const CONFIRM_JOB = 'confirm-consent';
/** How long a confirmation link works. */
export const CONFIRM_TTL_MS = 7 * 86_400_000;

export interface ConfirmJob {
  siteId: string;
  profileId: string;
  /** The messageId of the first event that asked while no confirmation was pending. */
  messageId: string;
  requestedAt: string;
}

/**
 * After insert: one confirmation job per address and site (the profile is the address on the site), whatever
 * number of events asked: the job id comes from site and profile, so requests while one is pending join it (a
 * batch of 500 sign-ups of one address queues one job). The job is removed once done; the cooldown and daily cap
 * (confirmation-limits.ts) then decide whether a later request mails again.
 */
export async function requestConfirmations(
  queue: Pick<Queue, 'addBulk'>,
  events: Array<Pick<EventDoc, 'siteId' | 'profileId' | 'messageId' | 'flags' | 'receivedAt'>>,
): Promise<void> {
  const jobs = events
    .filter((e) => e.profileId && e.flags?.includes(CONSENT_REQUESTED))
    .map((e) => {
      const data: ConfirmJob = {
        siteId: e.siteId.toString(),
        profileId: e.profileId!.toString(),
        messageId: e.messageId,
        requestedAt: new Date(e.receivedAt).toISOString(),
      };
      return {
        name: CONFIRM_JOB,
        data,
        opts: { jobId: jobIdFor('c', `${data.siteId}:${data.profileId}`), removeOnComplete: true },
      };
    });
  if (jobs.length) await queue.addBulk(jobs);
}

const confirmMac = (secret: string, siteId: string, profileId: string, at: string) =>
  createHmac('sha256', secret).update(`confirm:${siteId}:${profileId}:${at}`).digest('base64url');

export function confirmUrl(config: Config, secret: string, siteId: string, profileId: string, at: number): string {
  const url = new URL('/api/consent/confirm', config.publicUrl);
  url.searchParams.set('site', siteId);
  url.searchParams.set('profile', profileId);
  url.searchParams.set('at', String(at));
  url.searchParams.set('sig', confirmMac(secret, siteId, profileId, String(at)));
  return url.toString();
}

/** Whether a confirmation link is genuine and younger than CONFIRM_TTL_MS. */
export function verifyConfirm(
  secret: string,
  q: { site: string; profile: string; at: string; sig: string },
  now = Date.now(),
): 'ok' | 'invalid' | 'expired' {
  if (!/^[0-9a-f]{24}$/.test(q.site) || !/^[0-9a-f]{24}$/.test(q.profile) || !/^\d{1,15}$/.test(q.at)) {
    return 'invalid';
  }
  const expected = Buffer.from(confirmMac(secret, q.site, q.profile, q.at));
  const given = Buffer.from(q.sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
  return now - Number(q.at) > CONFIRM_TTL_MS ? 'expired' : 'ok';
}

/**
 * Sends the confirmation e-mail of one request, unless the person has consented or said no since, or the address
 * is within its cooldown for the site or past its daily cap (then nothing is sent nor retried).
 */
export async function sendConfirmation(
  deps: { config: Config; models: Models; mailer: Mailer; signingSecret: string; redis: Pick<Redis, 'eval'> },
  job: Job<ConfirmJob>,
): Promise<{ state: string }> {
  const { models } = deps;
  const { siteId, profileId, messageId, requestedAt } = job.data;
  const site = await models.Site.findById(siteId, { name: 1 }).lean();
  const profile = await models.Profile.findOne({
    _id: await survivorOf(models, new Types.ObjectId(profileId)),
    siteId: new Types.ObjectId(siteId),
  }).lean();
  const base = { siteId: new Types.ObjectId(siteId), kind: 'email' as const, messageId, attempt: job.attemptsMade + 1 };
  if (!site || !profile?.email) return { state: 'missing' };
  const decided = profile.consent?.updatedAt && new Date(profile.consent.updatedAt) > new Date(requestedAt);
  if (profile.consent?.email === true || decided) {
    await recordDelivery(models, {
      ...base,
      status: 'skipped',
      target: profile.email,
      error: profile.consent?.email ? 'already consented' : 'a later decision stands',
    });
    return { state: 'skipped' };
  }
  // a retried job already took its allowance on the attempt that failed to send
  if (job.attemptsMade === 0) {
    const allowance = await takeConfirmAllowance(deps.redis, deps.config, siteId, profile.email);
    if (allowance !== 'ok') return { state: `refused: ${allowance}` };
  }
  const link = confirmUrl(deps.config, deps.signingSecret, siteId, profile._id.toHexString(), Date.now());
  const unsubscribe = unsubscribeUrl(deps.config, deps.signingSecret, siteId, profile._id.toHexString());
  const name = site.name;
  const started = Date.now();
  try {
    const info = await deps.mailer.send({
      to: profile.email,
      subject: `Please confirm your subscription to ${name}`,
      text:
        `Someone, hopefully you, asked to receive e-mails from ${name} at this address.\n\n` +
        `Confirm: ${link}\n\nIf it was not you, ignore this e-mail: nothing will be sent. The link works for 7 days.\n`,
      html:
        `<!doctype html><html><body><p>Someone, hopefully you, asked to receive e-mails from ${escapeHtml(name)} ` +
        `at this address.</p><p><a href="${escapeHtml(link)}">Confirm my subscription</a></p>` +
        '<p style="font-size:12px;color:#666">If it was not you, ignore this e-mail: nothing will be sent. ' +
        'The link works for 7 days.</p></body></html>',
      unsubscribeUrl: unsubscribe,
    });
    await recordDelivery(models, {
      ...base,
      status: 'sent',
      target: profile.email,
      latencyMs: Date.now() - started,
      responseCode: Number(info.response.slice(0, 3)) || null,
    });
    return { state: 'sent' };
  } catch (err) {
    await recordDelivery(models, {
      ...base,
      status: 'failed',
      target: profile.email,
      latencyMs: Date.now() - started,
      error: (err as Error).message,
    });
    throw err;
  }
}
