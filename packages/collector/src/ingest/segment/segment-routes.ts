import { LIMITS, TrackAccepted } from '@trackmate/schema';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { TrackMateError } from '../../errors.js';
import { errorReplies, type Routes } from '../../route-kit.js';
import type { IngestFeed } from '../accept.js';
import { registerTrackCors, TRACK_HEADERS } from '../cors.js';
import { ingestRequest, takeBody } from '../ingest-request.js';
import { structuralErrors } from '../validate-client.js';
import { perEventRoute, siteOfWriteKey, writeKeyOf } from '../write-key.js';
import { segmentKeyOf } from './segment-key.js';
import { mapSegmentMessages, type SegmentType } from './segment-message.js';

/**
 * Segment's HTTP Tracking API calls, each at its path (`/v1/track`) and at the short one analytics.js posts to
 * (`apiHost` + `/t`: the first letter); a batch holds calls of every type.
 */
const ROUTES = (['batch', 'track', 'identify', 'page', 'alias'] as const).flatMap((call) => {
  const type: SegmentType | undefined = call === 'batch' ? undefined : call;
  return [`/v1/${call}`, `/v1/${call[0]}`].map((path) => ({ path, type }));
});

const MAX_BATCH = 500;

/**
 * Segment-compatible ingest, a migration path: the routes of Segment's HTTP Tracking API taking what
 * analytics.js and analytics-node send (the write key as Basic auth user, or `writeKey` in the body), mapped
 * onto TrackMate events and profiles, then the same origin check, limits, queue and 202 as `/api/track/event`.
 */
const segmentRoutes: Routes<IngestFeed> = async (app, feed) => {
  // analytics.js sends the write key as Basic auth from the page: its pre-flight asks for `authorization`
  await registerTrackCors(app, `${TRACK_HEADERS}, authorization`);

  for (const { path, type } of ROUTES) {
    app.post(
      path,
      {
        schema: {
          summary: type
            ? `Segment-compatible ${type} call`
            : 'Segment-compatible batch of track, identify, page and alias calls',
          description:
            'For libraries made for Segment (analytics.js, analytics-node): point their host at the collector and use ' +
            "the site's write key (Basic auth user, or `writeKey` in the body). Track events keep their names " +
            '("Order Completed"), page calls become `page_view`, identify calls `identify` (creating or updating the ' +
            "profile of the userId and traits.email), alias calls `alias`. A userId links the event to that user's " +
            'profile and is also kept in `context.userId`. See docs/migrate-from-segment.md.',
          tags: ['segment'],
          // any object (each message is validated below), typed as one for the handler
          body: Type.Unsafe<Record<string, unknown>>(Type.Object({}, { additionalProperties: true })),
          response: { 202: TrackAccepted, ...errorReplies(400, 401, 403, 413, 415, 429, 503) },
        },
        ...perEventRoute(app, feed.backpressure, keyOf),
      },
      async (request, reply) => {
        const receivedAt = new Date();
        const site = await siteOfWriteKey(app, request);
        const body = takeBody(request);

        const isBatch = !type;
        const items = isBatch ? batchItems(body) : [body];
        const shared = isBatch ? batchContext(body) : undefined;
        if (shared) checkExpandedSize(request, body, shared, items.length);
        const accepted = await ingestRequest(app, feed, request, {
          site,
          source: 'client',
          isBatch,
          receivedAt,
          build: ({ geo, siteId, receivedAt, ip, userAgent }) => {
            // the fields named, not spread (V8's slow path: track-routes.ts)
            const mapped = mapSegmentMessages(items, type, {
              siteId,
              receivedAt,
              ip,
              userAgent,
              sentAt: isBatch && typeof body.sentAt === 'string' ? body.sentAt : undefined,
              batchContext: shared,
            });
            if (geo) for (const e of mapped.events) e.geo = geo;
            return mapped;
          },
        });
        return reply.code(202).send(accepted);
      },
    );
  }
};

export default segmentRoutes;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function batchItems(body: Record<string, unknown>): unknown[] {
  const batch = body.batch;
  if (!Array.isArray(batch))
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'The body must be { "batch": [ ... ] }' });
  if (batch.length > MAX_BATCH) {
    throw new TrackMateError('TM_ERR_PAYLOAD_TOO_LARGE', {
      message: `A batch holds at most ${MAX_BATCH} messages; this one has ${batch.length}`,
    });
  }
  return batch;
}

/** The batch's `context`, which every message inherits: checked like a message (unsafe keys, nesting, size). */
function batchContext(body: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!isObject(body.context)) return undefined;
  const errors = structuralErrors(body.context);
  if (errors) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `/context: ${errors.join('; ')}` });
  return body.context;
}

/**
 * The batch's `context` is copied into each message, so a 31 KB context in a 37 KB request of 500 messages
 * would store (and queue in Redis) 15 MB. The 512 KB request limit therefore applies to the request as stored:
 * its body plus one more copy of the shared context per message. Checked before any message is mapped.
 */
function checkExpandedSize(request: FastifyRequest, body: Record<string, unknown>, context: object, n: number): void {
  const contextBytes = Buffer.byteLength(JSON.stringify(context));
  // fastify checked a plain body's length against its header; a gzip body's is measured (body-parser.ts)
  const bodyBytes = request.headers['content-encoding']
    ? Buffer.byteLength(JSON.stringify(body))
    : Number(request.headers['content-length']) || Buffer.byteLength(JSON.stringify(body));
  const expanded = bodyBytes + contextBytes * Math.max(0, n - 1);
  if (expanded > LIMITS.maxRequestBytes) {
    throw new TrackMateError('TM_ERR_PAYLOAD_TOO_LARGE', {
      message:
        `The batch's context (${contextBytes} bytes) joins each of its ${n} messages: ${expanded} bytes stored, ` +
        `more than the ${LIMITS.maxRequestBytes} a request may hold; send a smaller context or fewer messages`,
    });
  }
}

/** The key of a Segment call, whose body must be an object: the Basic auth user, else as on /api/track/event. */
function keyOf(request: FastifyRequest): string | undefined {
  const body = request.body;
  if (!isObject(body)) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'The body must be a JSON object' });
  return segmentKeyOf(request.headers.authorization) ?? writeKeyOf(request, body);
}
