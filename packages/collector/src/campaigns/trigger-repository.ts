import type { Types } from 'mongoose';
import type { Models, TriggerDoc } from '../models/index.js';
import { siteScoped } from '../route-kit.js';

/**
 * The trigger routes' reads and writes, one small function each (fastify/demo's tasks-repository shape), typed
 * by the models and scoped to the key's site: the handlers call these and never query, convert or cast themselves.
 */
export function triggerRepository({ Trigger, Delivery }: Pick<Models, 'Trigger' | 'Delivery'>) {
  return {
    /** One trigger of the site: a bad id is a 400, another site's or a missing one a 404. */
    load: siteScoped<TriggerDoc>(Trigger, 'trigger'),
    /** The site's triggers, oldest first (at most 1,000). */
    list: (siteId: Types.ObjectId) => Trigger.find({ siteId }).sort({ _id: 1 }).limit(1_000).lean(),
    create: async (doc: Omit<TriggerDoc, '_id'>) => (await Trigger.create(doc)).toObject(),
    update: (trigger: Pick<TriggerDoc, '_id' | 'siteId'>, set: Partial<TriggerDoc>) =>
      Trigger.updateOne({ _id: trigger._id, siteId: trigger.siteId }, { $set: set }),
    remove: (trigger: Pick<TriggerDoc, '_id'>) => Trigger.deleteOne({ _id: trigger._id }),
    /** What a trigger sent (or skipped), newest first. */
    deliveries: (trigger: Pick<TriggerDoc, '_id' | 'siteId'>, limit: number) =>
      Delivery.find({ siteId: trigger.siteId, triggerId: trigger._id }).sort({ at: -1 }).limit(limit).lean(),
  };
}
