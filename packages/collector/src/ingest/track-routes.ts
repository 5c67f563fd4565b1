import { ClientBatch, ClientEvent, ErrorReply, TrackAccepted } from '@trackmate/schema';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { TrackMateError } from '../errors.js';
import { requestItems, validateClientEvents } from './validate-client.js';
import { storedIp } from './client-ip.js';
import { normalizeOrigin, originAllowed } from '../sites/origins.js';
import type { CachedSite } from '../sites/key-cache.js';

const batchEnvelope = Compile(ClientBatch);

interface TrackBody {
  writeKey?: unknown;
  sentAt?: unknown;
  batch?: unknown;
}

const errorReplies = Object.fromEntries([400, 401, 403, 413, 415, 429, 503].map((s) => [s, ErrorReply]));

/** `POST /api/track/event`: one client event or a batch (DESIGN.md section 6). */
export default async function trackEventRoutes(app: FastifyInstance) {
  app.options('/api/track/event', { schema: { hide: true } }, async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin) return reply.code(204).send();
    const key = writeKeyOf(request, undefined);
    const allowed = key
      ? ((await app.sites.byKey(key))?.allowedOrigins ?? [])
      : [...(await app.sites.anyOrigins())];
    if (!originAllowed(origin, allowed)) throw new TrackMateError('TM_ERR_ORIGIN_NOT_ALLOWED');
    return reply
      .code(204)
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', 'content-type, x-trackmate-key, content-encoding')
      .header('access-control-max-age', '86400')
      .header('vary', 'Origin')
      .send();
  });

  app.post(
    '/api/track/event',
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
        response: { 202: TrackAccepted, ...errorReplies },
      },
      // The body is validated per event below, so one bad event never sinks the rest.
      validatorCompiler: () => () => true,
      onSend: exposeToBrowsers,
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const body = request.body as TrackBody | null;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new TrackMateError('TM_ERR_BAD_REQUEST', {
          message: 'The body must be one event object or { "batch": [ ... ] }',
        });
      }
      const key = writeKeyOf(request, body);
      if (!key) throw new TrackMateError('TM_ERR_MISSING_KEY');

      const ip = request.ip;
      await app.rateLimiter.enforce(key, ip);

      const site = await app.sites.byKey(key);
      if (!site) throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown write key' });
      checkOrigin(request, reply, site);

      const { isBatch, items } = requestItems(body, batchEnvelope);
      const { events, rejected } = validateClientEvents(items, {
        siteId: site.id,
        receivedAt,
        sentAt: typeof body.sentAt === 'string' && isBatch ? body.sentAt : undefined,
        ip: storedIp(ip, app.config.ipMode),
        userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
        // fastify checked that the body had exactly this length; gzip bodies have none (body-parser.ts)
        bodyBytes: request.headers['content-encoding']
          ? undefined
          : Number(request.headers['content-length']) || undefined,
      });
      app.metrics.eventsRejected.inc({ source: 'client' }, rejected.length);
      if (!events.length) {
        throw new TrackMateError('TM_ERR_INVALID_PAYLOAD', {
          message: isBatch ? 'No event in the batch is valid' : `The event is invalid: ${rejected[0]?.errors.join('; ')}`,
          details: { rejected },
        });
      }
      await app.batcher.enqueue(events);
      app.metrics.eventsAccepted.inc({ source: 'client' }, events.length);
      return reply.code(202).send({ accepted: events.length, rejected });
    },
  );
}

function writeKeyOf(request: FastifyRequest, body: TrackBody | undefined): string | undefined {
  const fromBody = typeof body?.writeKey === 'string' ? body.writeKey : undefined;
  const fromQuery = (request.query as { writeKey?: string } | undefined)?.writeKey;
  const fromHeader = request.headers['x-trackmate-key'];
  const key = fromBody || fromQuery || (typeof fromHeader === 'string' ? fromHeader : undefined);
  return key?.trim() || undefined;
}

function checkOrigin(request: FastifyRequest, reply: FastifyReply, site: CachedSite): void {
  const origin = request.headers.origin;
  if (!originAllowed(origin, site.allowedOrigins)) {
    throw new TrackMateError('TM_ERR_ORIGIN_NOT_ALLOWED', {
      message: `Origin ${normalizeOrigin(origin ?? '') ?? origin} is not allowed for this site`,
    });
  }
  if (origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
}

/**
 * Lets the SDK read every answer but a refused origin's: 202s (the origin was checked), and errors such as
 * 429/503 with their Retry-After, or 400/401, which a browser would otherwise see as a network error and retry
 * blindly. Error bodies hold nothing secret. A 403 stays unreadable: that origin is not the site's.
 */
async function exposeToBrowsers(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  const origin = request.headers.origin;
  if (origin && reply.statusCode !== 403) {
    reply
      .header('access-control-allow-origin', origin)
      .header('access-control-expose-headers', 'Retry-After')
      .header('vary', 'Origin');
  }
  return payload;
}
