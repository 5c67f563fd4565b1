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
    // A body sent one byte at a time must not hold a socket for ever (Node's own requestTimeout stops counting
    // once the headers are in): 408, and the connection closes, once reading it took longer than allowed.
    const limitMs = app.config.requestTimeoutMs;
    // callback style: no promise per request
    app.addHook('preParsing', (request, reply, payload, next) => {
      const timer = setTimeout(() => {
        // an error on the stream (not a destroy, which would take the socket with it) lets fastify answer 408;
        // Connection: close then ends the socket once the answer is out
        reply.header('connection', 'close');
        payload.emit(
          'error',
          new TrackMateError('TM_ERR_REQUEST_TIMEOUT', { message: `The body took more than ${limitMs} ms to arrive` }),
        );
      }, limitMs);
      timer.unref();
      const done = () => clearTimeout(timer);
      payload.once('end', done);
      payload.once('close', done);
      payload.once('error', done);
      const encoding = request.headers['content-encoding']?.toLowerCase();
      if (!encoding || encoding === 'identity') {
        next(null, payload);
        return;
      }
      if (encoding !== 'gzip') {
        next(
          new TrackMateError('TM_ERR_UNSUPPORTED_MEDIA_TYPE', {
            message: `Content-Encoding ${encoding} is not supported; use gzip`,
          }),
        );
        return;
      }
      const gunzip = createGunzip();
      // fastify's limit counts the decoded stream; a content-length of the compressed body must not be checked against it
      delete request.headers['content-length'];
      payload.pipe(gunzip);
      payload.on('error', (err) => gunzip.destroy(err));
      next(null, gunzip);
    });
  },
  { name: 'trackmate-body-parser' },
);
