import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrackMateError } from '../errors.js';
import { originAllowed } from '../sites/index.js';
import { siteOfKey, writeKeyOf } from './write-key.js';

/** Answers to the browser SDK: readable by the page (the SDK honours Retry-After and reads 4xx reasons). */
const ANSWER: FastifyCorsOptions = { origin: true, exposedHeaders: 'Retry-After', preflight: false };

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
 * @fastify/cors options per request for the track endpoint. A pre-flight is allowed for the origins of the
 * site its key names (`?writeKey=` or X-TrackMate-Key), or of any site when it names none; any other origin is
 * refused with 403 and gets no CORS headers, so nothing that needs a pre-flight is ever sent. Other requests
 * reflect the origin: the route itself refuses an origin that is not the site's (403) once the body has told it
 * which site, and that 403 keeps its CORS headers, so the page (the SDK) can read it and drop those events
 * instead of retrying what looks like a network error.
 */
export function trackCors(app: FastifyInstance, allowedHeaders = TRACK_HEADERS): FastifyCorsOptionsDelegateCallback {
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
    if (request.method !== 'OPTIONS') return callback(null, ANSWER);
    preflight(request).then(
      (options) => callback(null, options),
      (err: Error) => callback(err, { origin: false }),
    );
  };
}
