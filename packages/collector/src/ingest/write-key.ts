import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { TrackMateError } from '../errors.js';
import { limit } from '../plugins/rate-limits.js';
import { type CachedSite, isWriteKeyShape, normalizeOrigin, originAllowed } from '../sites/index.js';
import type { Backpressure } from './backpressure.js';

/**
 * The write key of a track request: body `writeKey`, else `?writeKey=`, else the X-TrackMate-Key header. Only
 * strings count; a repeated `?writeKey=` (parsed as an array) is a 400.
 */
export function writeKeyOf(request: FastifyRequest, body: unknown): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.writeKey;
  if (Array.isArray(fromQuery)) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: '?writeKey= is given more than once' });
  }
  const fromBody = body !== null && typeof body === 'object' ? (body as { writeKey?: unknown }).writeKey : undefined;
  // the first string that is not blank, in this order (no array built per request: the track endpoints' hot path)
  return keyIn(fromBody) ?? keyIn(fromQuery) ?? keyIn(request.headers['x-trackmate-key']);
}

function keyIn(candidate: unknown): string | undefined {
  if (typeof candidate !== 'string') return undefined;
  const key = candidate.trim();
  return key || undefined;
}

/**
 * The hooks of every route that takes a write key (`/api/track/event`, the Segment routes, the pixel):
 * backpressure and the per-IP limit before the body is read; after it, the key of the right shape (`keyOf`, the
 * route's own: where its key comes from, and what its body must be) before any rate limit, cache or query sees
 * it, then the per-key limit.
 */
export function writeKeyHooks(
  app: FastifyInstance,
  backpressure: Backpressure,
  keyOf: (request: FastifyRequest) => string | undefined,
) {
  // callback style: no promise per request on the hot path
  const checkKey = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    try {
      const key = keyOf(request);
      if (!key) throw new TrackMateError('TM_ERR_MISSING_KEY');
      if (!isWriteKeyShape(key)) throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown write key' });
      request.writeKey = key;
    } catch (err) {
      done(err as TrackMateError);
      return;
    }
    done();
  };
  return {
    onRequest: [
      backpressure.check,
      ...limit(app, app.config.rateLimitPerIp, 'per client IP', (request) => `ip:${request.ip}`),
    ],
    preHandler: [
      checkKey,
      ...limit(app, app.config.rateLimitPerKey, 'per write key', (request) => `key:${request.writeKey}`),
    ],
  };
}

/**
 * The options of a route whose body is a batch of events checked one by one by the route itself (so one bad
 * event never sinks the rest): no schema validation of the body, and the write-key hooks.
 */
export function perEventRoute(
  app: FastifyInstance,
  backpressure: Backpressure,
  keyOf: (request: FastifyRequest) => string | undefined,
) {
  return { validatorCompiler: () => () => true, ...writeKeyHooks(app, backpressure, keyOf) };
}

/**
 * The site of a write key, or undefined: a key the cache does not know is looked up only while the client
 * address is under its limit of failed lookups, and an unknown one counts against it. Track requests and their
 * CORS pre-flights alike.
 */
export async function siteOfKey(
  app: FastifyInstance,
  request: FastifyRequest,
  key: string,
): Promise<CachedSite | undefined> {
  if (!app.siteKeys.knows('write', key)) await app.authFailures.check(request, 'write', key);
  const site = await app.siteKeys.byWriteKey(key);
  if (!site) await app.authFailures.record(request);
  return site ?? undefined;
}

/**
 * The site of the request's write key (its shape already checked), seen from an origin the site allows: 401 for
 * an unknown key (counted against the client address, which is limited before any more lookups), 403 for an
 * origin the site does not allow (the request's Origin header, unless the route names another: the pixel's Referer).
 */
export function siteOfWriteKey(
  app: FastifyInstance,
  request: FastifyRequest,
  origin: string | undefined = request.headers.origin,
): CachedSite | Promise<CachedSite> {
  // a key held in memory: answered at once (no promise, no lookup), as the lookup below would answer it
  const held = app.siteKeys.freshWriteKeySite(request.writeKey!);
  if (held) return allowedFrom(held, origin);
  return siteOfKey(app, request, request.writeKey!).then((site) => {
    if (!site) throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown write key' });
    return allowedFrom(site, origin);
  });
}

function allowedFrom(site: CachedSite, origin: string | undefined): CachedSite {
  if (!originAllowed(origin, site.allowedOrigins)) {
    throw new TrackMateError('TM_ERR_ORIGIN_NOT_ALLOWED', {
      message: `Origin ${normalizeOrigin(origin ?? '') ?? origin} is not allowed for this site`,
    });
  }
  return site;
}
