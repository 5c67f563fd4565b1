import { type Job, UnrecoverableError, type Worker } from 'bullmq';
import type { Config } from '../config.js';
import { TrackMateError } from '../errors.js';
import type { Models } from '../models/index.js';
import { deadLetter } from '../pipeline/index.js';
import { createQueueWorker, QUEUE_NAMES, scrubWhenCompleted, type WorkerLog } from '../plugins/queues.js';
import { recordDelivery } from './deliveries.js';
import { PrivateAddressError, post } from './outgoing.js';
import type { WebhookJob } from './webhook-fanout.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

/** The secret of the subscription (or trigger) a delivery belongs to; null when it was deleted since. */
async function secretOf(models: Models, from: WebhookJob['secretFrom']): Promise<string | string[] | null> {
  if ('webhookId' in from) {
    const sub = await models.Webhook.findById(from.webhookId, {
      secret: 1,
      previousSecret: 1,
      previousSecretUntil: 1,
    }).lean();
    if (!sub) return null;
    const previous = sub.previousSecret;
    const rotating = previous && sub.previousSecretUntil && sub.previousSecretUntil.getTime() > Date.now();
    return rotating ? [sub.secret, previous] : sub.secret;
  }
  const trigger = await models.Trigger.findById(from.triggerId, { action: 1, nextSteps: 1 }).lean();
  const step = 'step' in from ? (from.step ?? 0) : 0;
  const action = step ? trigger?.nextSteps?.[step - 1]?.action : trigger?.action;
  return action?.type === 'webhook' ? (action.secret ?? '') : null;
}

/**
 * Sends one webhook: POST with the JSON body, signed, within TRACKMATE_WEBHOOK_TIMEOUT_MS. Network errors,
 * timeouts, 5xx and 429 are retried with exponential backoff; other answers are final. Every attempt is a
 * `deliveries` row; a delivery that never succeeded goes to dead_letters.
 */
export function webhookProcessor(config: Config, models: Models) {
  return async (job: Job<WebhookJob>) => {
    const d = job.data;
    const attempt = job.attemptsMade + 1;
    const ids = {
      siteId: d.siteId,
      webhookId: 'webhookId' in d.secretFrom ? d.secretFrom.webhookId : null,
      triggerId: 'triggerId' in d.secretFrom ? d.secretFrom.triggerId : null,
      messageId: d.messageId ?? null,
      entryId: d.entryId ?? null,
    };
    const secret = await secretOf(models, d.secretFrom);
    if (secret === null) {
      await recordDelivery(models, {
        ...ids,
        kind: 'webhook',
        status: 'skipped',
        target: d.url,
        attempt,
        error: 'subscription deleted',
      });
      return { skipped: true };
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'TrackMate-Webhooks/0.1',
      'x-trackmate-delivery': d.deliveryId,
    };
    if (secret) headers[SIGNATURE_HEADER.toLowerCase()] = signWebhook(secret, d.body);
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    let refused = false;
    try {
      status = await post(d.url, headers, d.body, {
        timeoutMs: config.webhookTimeoutMs,
        allowPrivate: config.webhookAllowPrivate,
      });
      if (status < 200 || status >= 300) error = `receiver answered ${status}`;
    } catch (err) {
      refused = err instanceof PrivateAddressError;
      error =
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${config.webhookTimeoutMs} ms`
          : (err as Error).message;
    }
    const latencyMs = Date.now() - started;
    await recordDelivery(models, {
      ...ids,
      kind: 'webhook',
      status: error ? 'failed' : 'sent',
      target: d.url,
      attempt,
      responseCode: status,
      latencyMs,
      error,
    });
    if (!error) return { status, latencyMs };
    const retryable = !refused && (status === null || status === 429 || status >= 500);
    if (!retryable || attempt >= (job.opts.attempts ?? 1)) {
      await deadLetter(models, QUEUE_NAMES.webhooks, job, d, `webhook to ${d.url} failed: ${error}`, d.siteId);
      throw new UnrecoverableError(error);
    }
    throw new TrackMateError('TM_ERR_WEBHOOK_FAILED', { message: error });
  };
}

/** The webhook worker: 16 deliveries at once, each retried by the queue's policy. */
export function createWebhookWorker(config: Config, models: Models, log: WorkerLog): Worker<WebhookJob> {
  const worker = createQueueWorker<WebhookJob>(config, QUEUE_NAMES.webhooks, webhookProcessor(config, models), log, {
    concurrency: 16,
  });
  // a delivered body names the person (event properties, profile): only the ids stay with the completed job
  scrubWhenCompleted(worker, ({ body: _body, url: _url, ...ids }) => ({ ...ids, body: '', url: '' }));
  return worker;
}
