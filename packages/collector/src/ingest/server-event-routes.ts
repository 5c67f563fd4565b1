import { GenericServerEvent, OrderPlacedEvent, ServerBatch, TrackAccepted } from '@trackmate/schema';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { TrackMateError } from '../errors.js';
import { limit } from '../plugins/rate-limits.js';
import { errorReplies, type Routes } from '../route-kit.js';
import type { IngestFeed } from './accept.js';
import { ingestRequest, takeBody } from './ingest-request.js';
import { requestItems } from './validate-client.js';
import { validateServerEvents } from './validate-server.js';

const batchEnvelope = Compile(ServerBatch);

/** `POST /api/track/server-event`: the documented server payload (docs/api.md), or a batch of them. */
const serverEventRoutes: Routes<IngestFeed> = async (app, feed) => {
  app.post(
    '/api/track/server-event',
    {
      schema: {
        summary: 'Track one server event or a batch of them',
        description:
          'Body: one event (`order_placed`, or any named event), or `{ "batch": [...] }`. ' +
          'Authenticated by the site secret key. An event without messageId gets a deterministic one: for an ' +
          'order from site + event + orderId, so a retried webhook stores one order; for any other event from ' +
          'its content, so send a messageId or a timestamp to record two identical events. An orderTotal that ' +
          'disagrees with the items (amount + tax − discount) is stored as sent, flagged `order_total_mismatch`. ' +
          'Events are linked to a profile by the `profile` they carry (upserted by e-mail), `email` or `profileId`. ' +
          'A 202 means the accepted events are durable in Redis. Limits: 32 KB per event, 512 KB and 500 events ' +
          'per request; the body may be gzip-encoded.',
        tags: ['tracking'],
        security: [{ secretKey: [] }],
        body: Type.Union([OrderPlacedEvent, GenericServerEvent, ServerBatch]),
        response: { 202: TrackAccepted, ...errorReplies(400, 401, 413, 415, 429, 503) },
      },
      // The body is validated per event below, so one bad event never sinks the rest.
      validatorCompiler: () => () => true,
      // before the body is read: no parsing for unknown callers, nor while the pipeline is behind
      onRequest: [app.requireIngestKey, feed.backpressure.check],
      // Server traffic comes from a few backend IPs: limited per site only, never per IP.
      preHandler: limit(app, app.config.rateLimitPerKey, 'of this site', (request) => `site:${request.site?.id}`),
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const site = request.site!;
      const body: unknown = takeBody(request);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new TrackMateError('TM_ERR_BAD_REQUEST', {
          message: 'The body must be one event object or { "batch": [ ... ] }',
        });
      }

      const { isBatch, items } = requestItems(body, batchEnvelope);
      const accepted = await ingestRequest(app, feed, request, {
        site,
        source: 'server',
        isBatch,
        receivedAt,
        build: (context) => validateServerEvents(items, context),
      });
      return reply.code(202).send(accepted);
    },
  );
};

export default serverEventRoutes;
