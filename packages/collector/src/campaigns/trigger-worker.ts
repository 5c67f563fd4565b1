import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import type { Config } from '../config.js';
import { TrackMateError } from '../errors.js';
import {
  type EventDoc,
  identityKey,
  type Models,
  type ProfileDoc,
  type TriggerAction,
  type TriggerDoc,
  type TriggerEntryDoc,
} from '../models/index.js';
import { deadLetter } from '../pipeline/index.js';
import { createQueueWorker, jobIdFor, QUEUE_NAMES, type WorkerLog } from '../plugins/queues.js';
import { belongsNow, refreshSegment, SEGMENT_REFRESH_JOB, type SegmentRefreshJob } from '../segments/index.js';
import { recordDelivery, type WebhookJob } from '../webhooks/index.js';
import { messageParts } from './broadcast-message.js';
import { BROADCAST_JOB, type BroadcastJob, runBroadcast } from './broadcast-send.js';
import { CONFIRM_JOB, type ConfirmJob, sendConfirmation } from './consent-confirmation.js';
import { noteEmailed } from './email-recency.js';
import { noteFlowSend } from './email-results.js';
import { createMailer, type Mailer } from './mailer.js';
import { opensTracked, openUrl } from './open-pixel.js';
import { render, type TemplateContext } from './templates.js';
import { linkTracker } from './tracked-links.js';
import type { FireJob } from './trigger-entry.js';
import { unsubscribeUrl } from './unsubscribe-links.js';

export interface TriggerWorkerDeps {
  config: Config;
  models: Models;
  mailer: Mailer;
  /** Broadcasts' mailer, with pooled connections. */
  broadcastMailer?: Mailer;
  signingSecret: string;
  webhooks: Pick<Queue<WebhookJob>, 'add'>;
  /** The double opt-in limits' counters (confirmation-limits.ts), the segments' member sets. */
  redis: Redis;
  /** This queue, for jobs that schedule their own next run (a segment's evaluation at midnight). */
  triggers?: Pick<Queue, 'add'>;
}

/**
 * The end of a trigger's delay: acts on a `waiting` entry only (so a job run twice acts once), re-checks the
 * exit events since the entry, resolves the visitor (an anonymous visitor identified during the delay is
 * reached), then sends the e-mail (consent re-checked now) or queues the webhook. The same queue carries the
 * double opt-in e-mails (`confirm-consent` jobs) and the segments' full evaluations (`segment-refresh`).
 */
export function triggerProcessor(deps: TriggerWorkerDeps) {
  const { models } = deps;
  const setState = (entry: TriggerEntryDoc, state: TriggerEntryDoc['state'], reason?: string) =>
    models.TriggerEntry.updateOne(
      { _id: entry._id, state: 'waiting' },
      { $set: { state, updatedAt: new Date(), ...(reason ? { reason } : {}) } },
    );

  return async (job: Job<FireJob>) => {
    if (job.name === CONFIRM_JOB) return sendConfirmation(deps, job as unknown as Job<ConfirmJob>);
    if (job.name === BROADCAST_JOB) {
      return runBroadcast(
        { ...deps, mailer: deps.broadcastMailer ?? deps.mailer },
        job as unknown as Job<BroadcastJob>,
      );
    }
    if (job.name === SEGMENT_REFRESH_JOB) {
      const { segmentId } = (job as unknown as Job<SegmentRefreshJob>).data;
      const done = await refreshSegment(models, deps.redis, deps.config.queuePrefix, segmentId, deps.triggers);
      // another evaluation of the segment is running: this one runs again after it (the job's backoff)
      if (done === false) throw new TrackMateError('TM_ERR_INTERNAL', { message: 'segment evaluation running' });
      return done;
    }
    const step = job.data.step ?? 0;
    const entry = await models.TriggerEntry.findById(job.data.entryId).lean();
    if (entry?.state !== 'waiting') return { state: entry?.state ?? 'missing' };
    if ((entry.step ?? 0) !== step) {
      // this step is done and the entry waits for the next: its job is queued again (a crash may have lost it)
      if ((entry.step ?? 0) === step + 1) await queueStep(deps, entry, step + 1);
      return { state: 'waiting', step: entry.step ?? 0 };
    }
    const trigger = await models.Trigger.findOne({ _id: entry.triggerId, siteId: entry.siteId }).lean();
    if (!trigger?.active) {
      await setState(entry, 'skipped', 'trigger deleted or paused');
      return { state: 'skipped' };
    }
    const action = step === 0 ? trigger.action : trigger.nextSteps?.[step - 1]?.action;
    if (!action) {
      // the flow was changed to fewer steps while the entry waited: the steps it had are done
      await setState(entry, 'sent');
      return { state: 'sent' };
    }
    const profileId = entry.profileId ?? (await linkedProfile(models, entry));
    if (await hasExited(models, trigger, entry, profileId)) {
      await setState(entry, 'exited', step ? `exit event before step ${step + 1}` : undefined);
      return { state: 'exited', step };
    }
    // the audience is the segment's rule evaluated for this person now, not the member set (updated a moment
    // after each change, so it can still hold the person's previous membership)
    if (trigger.segmentId && !(profileId && (await belongsNow(models, entry.siteId, trigger.segmentId, profileId)))) {
      await setState(entry, 'skipped', 'not in the audience segment');
      return { state: 'skipped' };
    }
    /** The step acted: the entry waits for the next step, or ends `sent` after the last. */
    const done = async () => {
      const next = trigger.nextSteps?.[step];
      if (!next) {
        await setState(entry, 'sent');
        return { state: 'sent', step };
      }
      const fireAt = new Date(Date.now() + next.delaySeconds * 1000);
      await models.TriggerEntry.updateOne(
        { _id: entry._id, state: 'waiting' },
        { $set: { step: step + 1, fireAt, updatedAt: new Date() } },
      );
      await queueStep(deps, { ...entry, step: step + 1, fireAt }, step + 1);
      return { state: 'waiting', step: step + 1 };
    };
    if (action.type === 'webhook') {
      const profile = profileId ? await profileOf(models, entry, profileId) : null;
      const stepId = step ? `${entry._id}:${step}` : entry._id;
      const body = JSON.stringify({
        id: jobIdFor('whd', stepId),
        type: 'trigger',
        siteId: entry.siteId.toString(),
        trigger: { id: trigger._id.toString(), name: trigger.name },
        step: step + 1,
        profile: profile ? publicProfile(profile) : null,
        anonymousId: entry.anonymousId,
        event: { ...entry.event, timestamp: new Date(entry.event.timestamp).toISOString() },
      });
      await deps.webhooks.add(
        'deliver',
        {
          siteId: entry.siteId.toString(),
          url: action.url,
          body,
          deliveryId: jobIdFor('whd', stepId),
          secretFrom: { triggerId: trigger._id.toString(), ...(step ? { step } : {}) },
          entryId: entry._id,
        },
        { jobId: jobIdFor('w', stepId) },
      );
      return done();
    }
    const sent = await sendEmail(deps, job, trigger, action, step, entry, profileId, setState);
    return sent.state === 'sent' ? done() : sent;
  };
}

/** Queues the delayed job of an entry's flow step (idempotent: its id derives from the entry and the step). */
async function queueStep(deps: TriggerWorkerDeps, entry: TriggerEntryDoc, step: number) {
  if (!deps.triggers) throw new TrackMateError('TM_ERR_INTERNAL', { message: 'no triggers queue for flow steps' });
  await deps.triggers.add(
    'fire',
    { entryId: entry._id, step },
    { jobId: jobIdFor('t', `${entry._id}:${step}`), delay: Math.max(0, new Date(entry.fireAt).getTime() - Date.now()) },
  );
}

async function sendEmail(
  deps: TriggerWorkerDeps,
  job: Job<FireJob>,
  trigger: TriggerDoc,
  action: TriggerAction,
  step: number,
  entry: TriggerEntryDoc,
  profileId: Types.ObjectId | null,
  setState: (entry: TriggerEntryDoc, state: TriggerEntryDoc['state'], reason?: string) => Promise<unknown>,
) {
  const { models } = deps;
  if (action.type !== 'email') throw new TrackMateError('TM_ERR_INTERNAL', { message: 'not an e-mail action' });
  const attempt = job.attemptsMade + 1;
  const base = {
    siteId: entry.siteId,
    triggerId: trigger._id,
    entryId: entry._id,
    messageId: entry.event.messageId,
    kind: 'email' as const,
    attempt,
  };
  const profile = profileId ? await profileOf(models, entry, profileId) : null;
  if (!profile) {
    await recordDelivery(models, {
      ...base,
      status: 'skipped',
      target: entry.anonymousId ?? '(unknown)',
      error: 'visitor not identified',
    });
    await setState(entry, 'skipped', 'visitor not identified');
    return { state: 'skipped' };
  }
  if (!profile.email) {
    await recordDelivery(models, {
      ...base,
      status: 'skipped',
      target: `profile ${profile._id.toHexString()}`,
      error: 'no e-mail address',
    });
    await setState(entry, 'skipped', 'no e-mail address');
    return { state: 'skipped' };
  }
  if (profile.consent?.email !== true) {
    await recordDelivery(models, {
      ...base,
      status: 'skipped',
      target: profile.email,
      error: 'no e-mail consent',
    });
    await setState(entry, 'skipped', 'no e-mail consent');
    return { state: 'skipped' };
  }
  const flow = trigger._id.toHexString();
  // the link names the flow's step: an unsubscribe through it is counted in the step's results
  const link = unsubscribeUrl(deps.config, deps.signingSecret, entry.siteId.toString(), profile._id.toString(), {
    kind: 'flow',
    id: flow,
    step: step + 1,
  });
  const ctx: TemplateContext = {
    profile: publicProfile(profile),
    event: {
      name: entry.event.name,
      timestamp: new Date(entry.event.timestamp).toISOString(),
      properties: entry.event.properties,
    },
    unsubscribeUrl: link,
  };
  // links to tracked ones: a click is credited to this flow's step (email-results.ts); the open pixel when the
  // site tracks opens
  const who = {
    siteId: entry.siteId.toHexString(),
    profileId: profile._id.toHexString(),
    source: { kind: 'flow' as const, id: flow, name: trigger.name, step: step + 1 },
  };
  const sentAt = Date.now();
  const track = linkTracker(deps.config, deps.signingSecret, who, sentAt);
  const opens = await opensTracked(models, entry.siteId);
  const { text, html } = messageParts(
    { text: track(render(action.body, ctx, 'text'), 'text'), html: track(render(action.body, ctx, 'html'), 'html') },
    link,
    opens ? openUrl(deps.config, deps.signingSecret, { ...who, sentAt }) : undefined,
  );
  const started = Date.now();
  try {
    const info = await deps.mailer.send({
      to: profile.email,
      subject: render(action.subject, ctx, 'text'),
      text,
      html,
      unsubscribeUrl: link,
    });
    await noteEmailed(deps.redis, deps.config.queuePrefix, profile._id.toHexString());
    await noteFlowSend(deps.redis, deps.config.queuePrefix, trigger._id.toHexString(), true, step);
    await recordDelivery(models, {
      ...base,
      status: 'sent',
      target: profile.email,
      latencyMs: Date.now() - started,
      responseCode: smtpCode(info.response),
    });
  } catch (err) {
    const message = (err as Error).message;
    await recordDelivery(models, {
      ...base,
      status: 'failed',
      target: profile.email,
      latencyMs: Date.now() - started,
      responseCode: (err as { responseCode?: number }).responseCode ?? null,
      error: message,
    });
    if (attempt >= (job.opts.attempts ?? 1)) {
      await setState(entry, 'failed', message);
      await noteFlowSend(deps.redis, deps.config.queuePrefix, trigger._id.toHexString(), false, step);
      await deadLetter(
        models,
        QUEUE_NAMES.triggers,
        job,
        { entryId: entry._id, to: profile.email },
        `e-mail failed: ${message}`,
        entry.siteId.toString(),
      );
    }
    throw err;
  }
  return { state: 'sent' as const };
}

const smtpCode = (response: string) => {
  const code = Number(response.slice(0, 3));
  return Number.isInteger(code) && code > 0 ? code : null;
};

function publicProfile(p: ProfileDoc) {
  return { id: p._id.toString(), email: p.email, firstName: p.firstName ?? '', lastName: p.lastName ?? '' };
}

/** The entry's profile, in the entry's site only. */
function profileOf(models: Models, entry: TriggerEntryDoc, profileId: Types.ObjectId) {
  return models.Profile.findOne({ _id: profileId, siteId: entry.siteId }).lean();
}

async function linkedProfile(models: Models, entry: TriggerEntryDoc): Promise<Types.ObjectId | null> {
  if (!entry.anonymousId) return null;
  const link = await models.Identity.findById(identityKey(entry.siteId.toString(), entry.anonymousId), {
    profileId: 1,
  }).lean();
  return link?.profileId ?? null;
}

/** Whether the visitor did an exit event from the entry on (by their anonymous id or, once known, their profile). */
async function hasExited(
  models: Models,
  trigger: TriggerDoc,
  entry: TriggerEntryDoc,
  profileId: Types.ObjectId | null,
) {
  if (!trigger.exitEvents?.length) return false;
  const who: Array<Pick<EventDoc, 'anonymousId'> | Pick<EventDoc, 'profileId'>> = [];
  if (entry.anonymousId) who.push({ anonymousId: entry.anonymousId });
  if (profileId) who.push({ profileId });
  if (!who.length) return false;
  const found = await models.Event.exists({
    siteId: entry.siteId,
    name: { $in: trigger.exitEvents },
    timestamp: { $gte: new Date(entry.enteredAt) },
    $or: who,
  });
  return found !== null;
}

/** The trigger worker: ends each entry's delay (see triggerProcessor); e-mail through SMTP_URL. */
export function createTriggerWorker(
  deps: Omit<TriggerWorkerDeps, 'mailer' | 'broadcastMailer'> & { log: WorkerLog },
): Worker<FireJob> {
  const mailer = createMailer(deps.config);
  const broadcastMailer = createMailer(deps.config, { pool: true });
  const worker = createQueueWorker<FireJob>(
    deps.config,
    QUEUE_NAMES.triggers,
    triggerProcessor({ ...deps, mailer, broadcastMailer }),
    deps.log,
    {
      concurrency: 4,
    },
  );
  worker.on('closed', () => {
    mailer.close();
    broadcastMailer.close();
  });
  return worker;
}
