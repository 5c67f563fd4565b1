import { type Job, UnrecoverableError } from 'bullmq';
import { Types } from 'mongoose';
import type { Config } from '../config.js';
import { QUEUE_NAMES } from '../plugins/queues.js';
import { SIGNATURE_HEADER, signWebhook } from '../campaigns/unsubscribe-links.js';
import type { Models } from '../models/index.js';
import { deadLetter } from '../pipeline/dead-letters.js';
import { recordDelivery } from './deliveries.js';
import type { WebhookJob } from './webhook-fanout.js';

/** The secret of the subscription (or trigger) a delivery belongs to; null when it was deleted since. */
async function secretOf(models: Models, from: WebhookJob['secretFrom']): Promise<string | null> {
  if ('webhookId' in from) {
    const sub = await models.Webhook.collection.findOne({ _id: new Types.ObjectId(from.webhookId) });
    return (sub?.secret as string | undefined) ?? null;
  }
  const trigger = await models.Trigger.collection.findOne({ _id: new Types.ObjectId(from.triggerId) });
  const action = trigger?.action as { type?: string; secret?: string } | undefined;
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
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers,
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(config.webhookTimeoutMs),
      });
      status = res.status;
      await res.body?.cancel().catch(() => {});
      if (!res.ok) error = `receiver answered ${res.status}`;
    } catch (err) {
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
    const retryable = status === null || status === 429 || status >= 500;
    if (!retryable || attempt >= (job.opts.attempts ?? 1)) {
      await deadLetter(models, QUEUE_NAMES.webhooks, job, d, `webhook to ${d.url} failed: ${error}`, d.siteId);
      throw new UnrecoverableError(error);
    }
    throw new Error(error);
  };
}
