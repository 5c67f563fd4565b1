import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { IngestFeed } from '../ingest/index.js';
import { PIXEL } from '../integrations/index.js';
import { errorReplies, type Routes } from '../route-kit.js';
import { noteOpen } from './email-results.js';
import { recordMailEvent } from './mail-events.js';
import { readOpenToken } from './open-pixel.js';
import { suspectHit } from './tracked-links.js';
import { loadSigningSecret } from './unsubscribe-links.js';

// a wildcard, not a `:token` parameter: the router caps parameters at 100 characters and a token is longer
const Params = Type.Object({ '*': Type.String({ minLength: 10, maxLength: 4_096 }) });

/**
 * `GET /o/<token>.gif`: the open pixel of a campaign or flow e-mail (open-pixel.ts), in messages of sites that
 * track opens. A load is an `email_open` event on the person's profile (mail-events.ts) and counted in the
 * e-mail's results (email-results.ts); loads by Apple's Mail Privacy Protection, known scanners or within
 * seconds of delivery are recorded flagged (`suspect`) and counted apart. Answered with a 43-byte transparent
 * GIF that is never cached; a HEAD (a proxy checking the image) is not a route, so it records nothing.
 */
const openRoute: Routes<IngestFeed> = async (app, feed) => {
  const secret = await loadSigningSecret(app.models, app.config);
  const prefix = app.config.queuePrefix;

  app.get<{ Params: { '*': string } }>(
    '/o/*',
    {
      exposeHeadRoute: false,
      schema: {
        tags: ['campaigns'],
        summary: 'The open pixel of a campaign or flow e-mail (sites with emailOpenTracking on)',
        description:
          'Records an `email_open` event on the profile the e-mail was sent to and answers a 1×1 transparent GIF ' +
          "(no-store). Loads by Apple's Mail Privacy Protection (its `Mozilla/5.0` agent or Apple's network), by a " +
          'robot agent, or within 10 s of sending are flagged `suspect` and left out of the opens. 403 for a ' +
          'pixel that was not made here or was altered.',
        params: Params,
        response: errorReplies(403),
      },
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const token = readOpenToken(secret, request.params['*']);
      if (!token) throw new TrackMateError('TM_ERR_INVALID_LINK');
      const suspect = suspectHit(
        'open',
        token,
        { userAgent: request.headers['user-agent'], ip: request.ip },
        receivedAt.getTime(),
      );
      await recordMailEvent(app, feed, request, {
        name: 'email_open',
        token,
        suspect,
        receivedAt,
        count: () => noteOpen(app.redis, prefix, { profileId: token.profileId, source: token.source, suspect }),
      });
      return reply
        .type('image/gif')
        .header('cache-control', 'no-store, no-cache, must-revalidate, max-age=0')
        .header('pragma', 'no-cache')
        .send(PIXEL);
    },
  );
};

export default openRoute;
