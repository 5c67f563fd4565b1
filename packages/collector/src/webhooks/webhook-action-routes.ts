import { randomUUID } from 'node:crypto';
import { DeliveryQueued } from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { jobIdFor } from '../plugins/queues.js';
import { errorReplies, IdParams, type Routes, siteIdOf } from '../route-kit.js';
import { eventDelivery, type WebhookJob } from './webhook-fanout.js';
import { webhookRepository } from './webhook-repository.js';

const common = { tags: ['webhooks'], security: [{ secretKey: [] }] };

/**
 * Operating a subscription by hand: a test POST, and sending one event's delivery again. Both go through the
 * webhook queue like any delivery (signed, retried), so their attempts appear in the deliveries log.
 */
const webhookActionRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const webhooks = webhookRepository(app.models);
  const enqueue = (job: WebhookJob, natural: string) =>
    app.queues.webhooks.add('deliver', job, { jobId: jobIdFor('w', `${natural}:manual:${randomUUID()}`) });

  app.post(
    '/api/webhooks/:id/test',
    {
      schema: {
        ...common,
        summary: 'Send a signed test POST (`type: "test"`) to the subscription now',
        params: IdParams,
        response: { 202: DeliveryQueued, ...errorReplies(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const sub = await webhooks.load(siteIdOf(request), request.params.id);
      const deliveryId = jobIdFor('whd', `${sub._id}:test:${randomUUID()}`);
      const now = new Date().toISOString();
      const body = JSON.stringify({
        id: deliveryId,
        type: 'test',
        siteId: sub.siteId.toHexString(),
        event: {
          messageId: `test-${deliveryId}`,
          name: 'webhook_test',
          timestamp: now,
          receivedAt: now,
          properties: {},
        },
      });
      await enqueue(
        {
          siteId: sub.siteId.toHexString(),
          url: sub.url,
          body,
          deliveryId,
          secretFrom: { webhookId: sub._id.toHexString() },
        },
        deliveryId,
      );
      return reply.code(202).send({ queued: true as const, deliveryId });
    },
  );

  app.post(
    '/api/webhooks/:id/deliveries/:deliveryId/retry',
    {
      schema: {
        ...common,
        summary: "Send a delivery's event to the subscription again (same body id, so receivers can dedupe)",
        description: 'Answers 409 when the event is no longer stored (erased, past retention) or was a test.',
        params: Type.Object({ ...IdParams.properties, deliveryId: Type.String({ maxLength: 64 }) }),
        response: { 202: DeliveryQueued, ...errorReplies(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const sub = await webhooks.load(siteIdOf(request), request.params.id);
      const delivery = await webhooks.delivery(sub, request.params.deliveryId);
      if (!delivery)
        throw new TrackMateError('TM_ERR_NOT_FOUND', { message: `No delivery ${request.params.deliveryId}` });
      const event = await webhooks.eventOf(delivery);
      if (!event) {
        throw new TrackMateError('TM_ERR_BAD_REQUEST', {
          statusCode: 409,
          message: 'The event of this delivery is no longer stored (or it was a test): nothing to send again',
        });
      }
      const { natural, data } = eventDelivery(sub, event);
      await enqueue(data, natural);
      request.log.info({ site: sub.siteId.toHexString(), webhook: sub._id.toHexString() }, 'webhook delivery retried');
      return reply.code(202).send({ queued: true as const, deliveryId: data.deliveryId });
    },
  );
};

export default webhookActionRoutes;
