import type { Types } from 'mongoose';
import type { Models } from '../models/index.js';

/**
 * The platform hooks' read of what is stored, typed by the model: a redelivered order is not queued again (the
 * unique messageId would drop it anyway).
 */
export function hookRepository({ Event }: Pick<Models, 'Event'>) {
  return {
    /** Which of these message ids the site's events hold already. */
    storedMessageIds: async (siteId: Types.ObjectId, messageIds: string[]) =>
      new Set(
        (await Event.find({ siteId, messageId: { $in: messageIds } }, { messageId: 1 }).lean()).map((e) => e.messageId),
      ),
  };
}
