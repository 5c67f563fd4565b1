import { ClientBatch, ClientEvent, TrackAccepted } from '@trackmate/schema';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { TrackMateError } from '../errors.js';
import { errorReplies, type Routes } from '../route-kit.js';
import type { CachedSite } from '../sites/index.js';
import type { IngestFeed } from './accept.js';
import { registerTrackCors } from './cors.js';
import { ingestRequest, takeBody } from './ingest-request.js';
import { requestItems, validateClientEvents } from './validate-client.js';
import { perEventRoute, siteOfWriteKey, writeKeyOf } from './write-key.js';

const batchEnvelope = Compile(ClientBatch);

declare module 'fastify' {
  interface FastifyRequest {
    /** The write key of a track request, once its shape is checked. */
    writeKey?: string;
  }
}

/**
 * `POST /api/track/event` (registered under the `/api/track` prefix): one client event or a batch (docs/api.md).
 * Per-IP limit before the body is read, per-key limit after; CORS per site (cors.ts).
 */
const trackRoutes: Routes<IngestFeed> = async (app, feed) => {
  await registerTrackCors(app);
  app.decorateRequest('writeKey', undefined);

  app.post(
    '/event',
    {
      schema: {
        summary: 'Track one client event or a batch of them',
        description:
          'Body: one event, or `{ writeKey, sentAt, batch: [...] }`. Content-Type application/json or text/plain ' +
          '(beacons). The write key may also come as `?writeKey=` or the `X-TrackMate-Key` header. A 202 means ' +
          'the accepted events are durable in Redis. Limits: 32 KB per event, 512 KB and 500 events per request.',
        tags: ['tracking'],
        querystring: Type.Object({ writeKey: Type.Optional(Type.String({ maxLength: 128 })) }),
        body: Type.Union([ClientEvent, ClientBatch]),
        response: { 202: TrackAccepted, ...errorReplies(400, 401, 403, 413, 415, 429, 503) },
      },
      ...perEventRoute(app, feed.backpressure, keyOf),
    },
    (request, reply) => {
      const receivedAt = new Date();
      const site = siteOfWriteKey(app, request);
      const body = takeBody(request);
      // a key held in memory needs no promise before the events are handed on (the hot path)
      const accepted =
        site instanceof Promise
          ? site.then((known) => ingest(app, feed, request, body, known, receivedAt))
          : ingest(app, feed, request, body, site, receivedAt);
      return accepted.then((answer) => {
        reply.code(202);
        return answer;
      });
    },
  );
};

/** The request's events validated, cleaned and handed to the queue: `{ accepted, rejected }` once durable. */
function ingest(
  app: FastifyInstance,
  feed: IngestFeed,
  request: FastifyRequest,
  body: object, // an object: keyOf made sure
  site: CachedSite,
  receivedAt: Date,
): Promise<TrackAccepted> {
  const { isBatch, items } = requestItems(body, batchEnvelope);
  const sentAt = 'sentAt' in body ? body.sentAt : undefined;
  return ingestRequest(app, feed, request, {
    site,
    source: 'client',
    isBatch,
    receivedAt,
    // each field named, not `...context`: an object spread followed by more properties took 1.4-10 µs a request
    // in V8's slow path (a micro-benchmark; 5-7 % of the collector's CPU under single-event load)
    build: (context) =>
      validateClientEvents(items, {
        siteId: context.siteId,
        receivedAt: context.receivedAt,
        ip: context.ip,
        geo: context.geo,
        userAgent: context.userAgent,
        consentMode: site.consentMode,
        sentAt: typeof sentAt === 'string' && isBatch ? sentAt : undefined,
        // fastify checked that the body had exactly this length; gzip bodies have none (body-parser.ts)
        bodyBytes: request.headers['content-encoding']
          ? undefined
          : Number(request.headers['content-length']) || undefined,
      }),
  });
}

export default trackRoutes;

/** The key of a track request, whose body must be an object (one event or a batch). */
function keyOf(request: FastifyRequest): string | undefined {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', {
      message: 'The body must be one event object or { "batch": [ ... ] }',
    });
  }
  return writeKeyOf(request, body);
}
