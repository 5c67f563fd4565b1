import type { Queue } from 'bullmq';
import { type Models, type NewEventDoc, sentByOf, type WebhookDoc } from '../models/index.js';
import { jobIdFor } from '../plugins/queues.js';

/** One outgoing POST; the body is fixed when queued so that every attempt sends the same bytes. */
export interface WebhookJob {
  siteId: string;
  url: string;
  body: string;
  deliveryId: string;
  /** Where the signing secret is read at send time (so a rotated secret applies to queued deliveries). */
  /** Whose secret signs it: a subscription, or a trigger's action (`step`: a flow's step after the first). */
  secretFrom: { webhookId: string } | { triggerId: string; step?: number };
  messageId?: string;
  entryId?: string;
}

type Subscription = Omit<WebhookDoc, 'secret'>;

/** The active subscriptions of each site (site id → subscriptions); the workers cache them (SiteConfigCache). */
export type Subscriptions = (siteIds: string[]) => Promise<Map<string, Subscription[]>>;

/** Active subscriptions straight from the database (without their secrets), one query for all the sites. */
export const loadSubscriptions =
  (models: Models): Subscriptions =>
  async (siteIds) => {
    const out = new Map<string, Subscription[]>();
    const subs = await models.Webhook.find({ siteId: { $in: siteIds }, active: true }, { secret: 0 }).lean();
    for (const sub of subs) {
      const id = sub.siteId.toHexString();
      out.set(id, [...(out.get(id) ?? []), sub]);
    }
    return out;
  };

/** The event as receivers see it (no IP address, no user agent). */
/**
 * The delivery of one event to one subscription: its natural key (subscription, site, messageId) and the job.
 * The body's `id` comes from the natural key, so every send of it, retries and manual re-sends alike, carries
 * the same id for receivers to dedupe on.
 */
export function eventDelivery(
  sub: Pick<WebhookDoc, '_id' | 'url'>,
  e: NewEventDoc,
): { natural: string; data: WebhookJob } {
  const natural = `${sub._id}:${e.siteId}:${e.messageId}`;
  const deliveryId = jobIdFor('whd', natural);
  const body = JSON.stringify({ id: deliveryId, type: 'event', siteId: e.siteId.toString(), event: publicEvent(e) });
  return {
    natural,
    data: {
      siteId: e.siteId.toString(),
      url: sub.url,
      body,
      deliveryId,
      secretFrom: { webhookId: sub._id.toString() },
      messageId: e.messageId,
    },
  };
}

function publicEvent(e: NewEventDoc) {
  return {
    messageId: e.messageId,
    name: e.name,
    timestamp: new Date(e.timestamp).toISOString(),
    receivedAt: new Date(e.receivedAt).toISOString(),
    anonymousId: e.anonymousId,
    sessionId: e.sessionId,
    profileId: e.profileId?.toString() ?? null,
    source: sentByOf(e),
    properties: e.properties ?? {},
  };
}

/** Queues one delivery per (subscription, event) for this job's events; a retried job queues nothing twice. */
export async function fanOutWebhooks(
  models: Models,
  queue: Pick<Queue<WebhookJob>, 'addBulk'>,
  events: NewEventDoc[],
  subscriptions: Subscriptions = loadSubscriptions(models),
): Promise<void> {
  const siteIds = [...new Set(events.map((e) => e.siteId.toString()))];
  const subs = [...(await subscriptions(siteIds)).values()].flat();
  if (!subs.length) return;
  const jobs = [];
  for (const e of events) {
    for (const sub of subs) {
      if (!sub.siteId.equals(e.siteId) || !(sub.events.includes(e.name) || sub.events.includes('*'))) continue;
      const { natural, data } = eventDelivery(sub, e);
      jobs.push({ name: 'deliver', data, opts: { jobId: jobIdFor('w', natural) } });
    }
  }
  if (jobs.length) await queue.addBulk(jobs);
}
