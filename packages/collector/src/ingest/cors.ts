import cors, { type FastifyCorsOptions, type FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { TrackMateError } from '../errors.js';
import { originAllowed } from '../sites/index.js';
import { siteOfKey, writeKeyOf } from './write-key.js';

/** Request headers the track endpoint's pre-flights allow. */
export const TRACK_HEADERS = 'content-type, x-trackmate-key, content-encoding';

const preflightOptions = (allowedHeaders: string): FastifyCorsOptions => ({
  origin: true,
  methods: 'POST, OPTIONS',
  allowedHeaders,
  maxAge: 86_400,
  strictPreflight: false,
});

/**
 * CORS of a track endpoint's routes (registered in their plugin, before them). A pre-flight is allowed for the
 * origins of the site its key names (`?writeKey=` or X-TrackMate-Key), or of any site when it names none; any
 * other origin is refused with 403 and gets no CORS headers, so nothing that needs a pre-flight is ever sent.
 * Other requests reflect the origin: the route itself refuses an origin that is not the site's (403) once the
 * body has told it which site, and that 403 keeps its CORS headers, so the page (the SDK) can read it and drop
 * those events instead of retrying what looks like a network error.
 *
 * Pre-flights are @fastify/cors's, in a scope of their own: its hook builds and normalises its options for
 * every request it sees (4 % of the collector's CPU under single-event load when it saw the POSTs too). The
 * POSTs' answer is the same for every request but the origin, so one hook sets it with nothing built per request.
 */
export async function registerTrackCors(app: FastifyInstance, allowedHeaders = TRACK_HEADERS): Promise<void> {
  await app.register(async (preflights) => {
    await preflights.register(cors, { delegator: preflightCors(app, allowedHeaders) });
  });
  app.addHook('onRequest', exposeToPage);
}

/** @fastify/cors's answer with `origin: true, exposedHeaders: 'Retry-After'`: readable by the page (the SDK honours Retry-After and reads 4xx reasons). */
function exposeToPage(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (request.method !== 'OPTIONS') {
    // not a pre-flight (those are @fastify/cors's)
    const origin = request.headers.origin;
    if (origin) reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', 'Retry-After').header('vary', 'Origin');
  }
  done();
}

/** @fastify/cors options of a pre-flight (see registerTrackCors). */
function preflightCors(app: FastifyInstance, allowedHeaders: string): FastifyCorsOptionsDelegateCallback {
  const PREFLIGHT = preflightOptions(allowedHeaders);
  const preflight = async (request: FastifyRequest): Promise<FastifyCorsOptions> => {
    const origin = request.headers.origin;
    if (!origin) return PREFLIGHT; // not a browser: nothing to allow or refuse
    const key = writeKeyOf(request, undefined);
    let allowed: string[];
    if (key) {
      // a pre-flight's key is looked up like a request's: unknown keys count against the address
      allowed = (await siteOfKey(app, request, key))?.allowedOrigins ?? [];
    } else allowed = [...(await app.siteKeys.anyOrigins())];

    if (!originAllowed(origin, allowed)) throw new TrackMateError('TM_ERR_ORIGIN_NOT_ALLOWED');
    return PREFLIGHT;
  };
  return (request, callback) => {
    preflight(request).then(
      (options) => callback(null, options),
      (err: Error) => callback(err, { origin: false }),
    );
  };
}
