import { GenericServerEvent, OrderPlacedEvent, ServerBatch, TrackAccepted } from '@trackmate/schema';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { TrackMateError } from '../errors.js';
import { errorReplies, type Routes } from '../route-kit.js';
import { accept } from './accept.js';
import type { Backpressure } from './backpressure.js';
import { storedIp } from './client-ip.js';
import type { EnqueueBatcher } from './enqueue-batcher.js';
import { rejectForeignProfileIds } from './profile-ids.js';
import { limit } from './rate-limits.js';
import { requestItems } from './validate-client.js';
import { validateServerEvents } from './validate-server.js';

const batchEnvelope = Compile(ServerBatch);

/** `POST /api/track/server-event`: the documented server payload (docs/api.md), or a batch of them. */
const serverEventRoutes: Routes<{ batcher: EnqueueBatcher; backpressure: Backpressure }> = async (
  app,
  { batcher, backpressure },
) => {
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
      onRequest: [app.requireIngestKey, backpressure.check],
      // Server traffic comes from a few backend IPs: limited per site only, never per IP.
      preHandler: limit(app, app.config.rateLimitPerKey, 'of this site', (request) => `site:${request.site?.id}`),
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const site = request.site!;
      const body: unknown = request.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new TrackMateError('TM_ERR_BAD_REQUEST', {
          message: 'The body must be one event object or { "batch": [ ... ] }',
        });
      }

      const { isBatch, items } = requestItems(body, batchEnvelope);
      const validated = validateServerEvents(items, {
        siteId: site.id,
        receivedAt,
        ip: storedIp(request.ip, app.config.ipMode),
        userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
      });
      await rejectForeignProfileIds(app.models, site.id, validated);
      const { events, rejected } = validated;
      rejected.sort((a, b) => a.index - b.index);
      return accept(app, batcher, reply, 'server', isBatch, { events, rejected });
    },
  );
};

export default serverEventRoutes;
