import type { QueryFilter, Types } from 'mongoose';
import type { DeadLetterDoc, Models } from '../models/index.js';
import { siteScoped } from '../route-kit.js';

/**
 * The dead-letter routes' reads, one small function each (fastify/demo's tasks-repository shape), typed by the
 * models and scoped to the key's site: the handlers call these and never query, convert or cast themselves.
 */
export function deadLetterRepository({ DeadLetter }: Pick<Models, 'DeadLetter'>) {
  return {
    /** One dead letter of the site: a bad id is a 400, another site's or a missing one a 404. */
    load: siteScoped<DeadLetterDoc>(DeadLetter, 'dead letter'),
    /** The site's dead letters, newest first, of one queue or all. */
    list: (siteId: Types.ObjectId, { queue, limit }: { queue?: DeadLetterDoc['queue']; limit: number }) => {
      const filter: QueryFilter<DeadLetterDoc> = { siteId };
      if (queue) filter.queue = queue;
      return DeadLetter.find(filter).sort({ failedAt: -1 }).limit(limit).lean();
    },
  };
}
