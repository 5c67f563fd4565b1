import type { Types } from 'mongoose';
import type { DeliveryDoc, Models, WebhookDoc } from '../models/index.js';
import { parseId, siteScoped } from '../route-kit.js';

/**
 * The webhook routes' reads and writes, one small function each (fastify/demo's tasks-repository shape), typed by
 * the models and scoped to the key's site: the handlers call these and never query, convert or cast themselves.
 */
export function webhookRepository({ Webhook, Delivery, Event }: Pick<Models, 'Webhook' | 'Delivery' | 'Event'>) {
  return {
    /** One subscription of the site: a bad id is a 400, another site's or a missing one a 404. */
    load: siteScoped<WebhookDoc>(Webhook, 'webhook'),
    /** The site's subscriptions, oldest first (at most 1,000). */
    list: (siteId: Types.ObjectId) => Webhook.find({ siteId }).sort({ _id: 1 }).limit(1_000).lean(),
    create: async (doc: Omit<WebhookDoc, '_id'>) => (await Webhook.create(doc)).toObject(),
    update: (siteId: Types.ObjectId, id: Types.ObjectId, set: Partial<WebhookDoc>) =>
      Webhook.updateOne({ _id: id, siteId }, { $set: set }),
    remove: (siteId: Types.ObjectId, id: Types.ObjectId) => Webhook.deleteOne({ _id: id, siteId }),
    /** One delivery attempt of a subscription, or null (a bad id is a 400). */
    delivery: (webhook: Pick<WebhookDoc, '_id' | 'siteId'>, id: string) =>
      Delivery.findOne({ _id: parseId(id, 'delivery id'), siteId: webhook.siteId, webhookId: webhook._id }).lean(),
    /** A subscription's latest 100 delivery attempts, newest first. */
    deliveries: (webhookId: Types.ObjectId) => Delivery.find({ webhookId }).sort({ at: -1 }).limit(100).lean(),
    /** The stored event a delivery carried, or null (erased, past retention, or a test). */
    eventOf: (delivery: Pick<DeliveryDoc, 'siteId' | 'messageId'>) =>
      delivery.messageId ? Event.findOne({ siteId: delivery.siteId, messageId: delivery.messageId }).lean() : null,
  };
}
