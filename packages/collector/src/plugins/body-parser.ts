import { createGunzip } from 'node:zlib';
import { LIMITS } from '@trackmate/schema';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { TrackMateError } from '../errors.js';

/**
 * JSON bodies as `application/json` or `text/plain` (beacons send text/plain to avoid a CORS pre-flight),
 * optionally gzip-encoded. The 512 KB limit applies to the decoded body, so a small gzip bomb still gets 413.
 * Any other content type is answered 415 by fastify.
 */
export default fp(
  async function bodyParser(app: FastifyInstance) {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      ['application/json', 'text/plain'],
      { parseAs: 'string', bodyLimit: LIMITS.maxRequestBytes },
      (_req, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(new TrackMateError('TM_ERR_INVALID_JSON'), undefined);
        }
      },
    );
    app.addHook('preParsing', async (request, _reply, payload) => {
      const encoding = request.headers['content-encoding']?.toLowerCase();
      if (!encoding || encoding === 'identity') return payload;
      if (encoding !== 'gzip') {
        throw new TrackMateError('TM_ERR_UNSUPPORTED_MEDIA_TYPE', { message: `Content-Encoding ${encoding} is not supported; use gzip` });
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
