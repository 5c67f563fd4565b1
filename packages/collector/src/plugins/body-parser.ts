import { isUtf8 } from 'node:buffer';
import { createGunzip } from 'node:zlib';
import { LIMITS } from '@trackmate/schema';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { TrackMateError } from '../errors.js';

/**
 * UTF-8 JSON bodies as `application/json` or `text/plain` (beacons send text/plain to avoid a CORS pre-flight),
 * optionally gzip-encoded. The 512 KB limit applies to the decoded body, so a small gzip bomb still gets 413.
 * Any other content type is answered 415 by fastify.
 */
export default fp(
  async function bodyParser(app: FastifyInstance) {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      ['application/json', 'text/plain'],
      { parseAs: 'buffer', bodyLimit: LIMITS.maxRequestBytes },
      (_req, body, done) => {
        // JSON text must be UTF-8 (RFC 8259); decoding invalid bytes would silently store U+FFFD instead.
        if (!isUtf8(body as Buffer))
          return done(new TrackMateError('TM_ERR_INVALID_JSON', { message: 'The body is not valid UTF-8' }), undefined);
        try {
          done(null, JSON.parse((body as Buffer).toString('utf8')));
        } catch {
          done(new TrackMateError('TM_ERR_INVALID_JSON'), undefined);
        }
      },
    );
    app.addHook('preParsing', async (request, _reply, payload) => {
      const encoding = request.headers['content-encoding']?.toLowerCase();
      if (!encoding || encoding === 'identity') return payload;
      if (encoding !== 'gzip') {
        throw new TrackMateError('TM_ERR_UNSUPPORTED_MEDIA_TYPE', {
          message: `Content-Encoding ${encoding} is not supported; use gzip`,
        });
      }
      const gunzip = createGunzip();
      // fastify's limit counts the decoded stream; a content-length of the compressed body must not be checked against it
      delete request.headers['content-length'];
      payload.pipe(gunzip);
      payload.on('error', (err) => gunzip.destroy(err));
      return gunzip;
    });
  },
  { name: 'trackmate-body-parser' },
);
