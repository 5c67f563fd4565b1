import { type DeadLetter, DeadLetterList, DeadLettersReplayed } from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { DeadLetterDoc } from '../models/index.js';
import { QUEUE_NAMES } from '../plugins/queues.js';
import { errorReplies, IdParams, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { deadLetterRepository } from './dead-letter-repository.js';
import { deadLetterPayload, replayDeadLetters } from './replay-dead-letters.js';

const view = (d: DeadLetterDoc): DeadLetter => ({
  id: d._id.toHexString(),
  queue: d.queue,
  failedAt: d.failedAt.toISOString(),
  attempts: d.attempts,
  reason: d.reason,
  replayedAt: d.replayedAt?.toISOString() ?? null,
  payload: deadLetterPayload(d),
});

const common = { tags: ['dead letters'], security: [{ secretKey: [] }] };

/**
 * `/api/dead-letters`: the site's payloads that failed after every retry, and replaying them — what
 * `trackmate-collector dead-letters` does for the whole installation, scoped to the key's site.
 */
const deadLetterRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const deadLetters = deadLetterRepository(app.models);

  app.get(
    '/api/dead-letters',
    {
      schema: {
        ...common,
        summary: "The site's dead letters, newest first",
        querystring: Type.Object({
          queue: Type.Optional(Type.Union(Object.values(QUEUE_NAMES).map((q) => Type.Literal(q)))),
          limit: Limit,
        }),
        response: { 200: DeadLetterList, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const { queue, limit } = request.query;
      const docs = await deadLetters.list(siteIdOf(request), { queue, limit: parseLimit(limit) });
      return { deadLetters: docs.map(view) };
    },
  );

  app.post(
    '/api/dead-letters/:id/replay',
    {
      schema: {
        ...common,
        summary: 'Queue a dead letter again (also one replayed before) and mark it replayed',
        params: IdParams,
        response: { 200: DeadLettersReplayed, ...errorReplies(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const doc = await deadLetters.load(siteIdOf(request), request.params.id);
      const result = await replayDeadLetters(app.models, app.queues, [doc]);
      if (!result.replayed) {
        throw new TrackMateError('TM_ERR_BAD_REQUEST', {
          statusCode: 409,
          message: 'This dead letter holds nothing that can be queued again',
        });
      }
      request.log.info({ site: doc.siteId?.toHexString(), deadLetter: doc._id.toHexString() }, 'dead letter replayed');
      return result;
    },
  );
};

export default deadLetterRoutes;
