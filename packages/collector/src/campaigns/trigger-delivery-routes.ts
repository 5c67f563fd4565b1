import { type TriggerDelivery, TriggerDeliveryList } from '@trackmate/schema';
import { Type } from 'typebox';
import type { DeliveryDoc } from '../models/index.js';
import { errorReplies, IdParams, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { triggerRepository } from './trigger-repository.js';

const view = (d: DeliveryDoc): TriggerDelivery => ({
  id: d._id.toHexString(),
  kind: d.kind,
  status: d.status,
  attempt: d.attempt,
  target: d.target,
  entryId: d.entryId,
  responseCode: d.responseCode,
  latencyMs: d.latencyMs,
  error: d.error,
  at: d.at.toISOString(),
});

/** `GET /api/triggers/:id/deliveries`: what a trigger sent (or skipped, with the reason), newest first. */
const triggerDeliveryRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const triggers = triggerRepository(app.models);

  app.get(
    '/api/triggers/:id/deliveries',
    {
      schema: {
        tags: ['campaign triggers'],
        security: [{ secretKey: [] }],
        summary: "The trigger's e-mail and webhook attempts, newest first (default 50, at most 200)",
        params: IdParams,
        querystring: Type.Object({ limit: Limit }),
        response: { 200: TriggerDeliveryList, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const trigger = await triggers.load(siteIdOf(request), request.params.id);
      return { deliveries: (await triggers.deliveries(trigger, parseLimit(request.query.limit))).map(view) };
    },
  );
};

export default triggerDeliveryRoutes;
