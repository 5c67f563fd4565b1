import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { IngestFeed } from '../ingest/index.js';
import { errorReplies, type Routes } from '../route-kit.js';
import { noteClick } from './email-results.js';
import { recordMailEvent } from './mail-events.js';
import { landingUrl, readClickToken, suspectClick } from './tracked-links.js';
import { loadSigningSecret } from './unsubscribe-links.js';

// a wildcard, not a `:token` parameter: the router caps parameters at 100 characters and a token is longer
const Params = Type.Object({ '*': Type.String({ minLength: 10, maxLength: 4_096 }) });

/**
 * `GET /r/<token>`: a tracked link of a campaign or flow e-mail (tracked-links.ts). The signed token names the
 * person, the campaign or flow and the destination. A click is an `email_click` event on the person's profile
 * (through the ingest queue like any server event: `properties.campaignId` or `flowId`, `url`, and `suspect`
 * with the reason when a link scanner made it), counted in the campaign's results (email-results.ts), then
 * answered with a redirect to the destination with `utm_*` added. The redirect never waits on the record: a
 * queue refusing events (backpressure) or an erased person still gets the person to the page. A HEAD (a scanner
 * checking the link) is redirected without a record.
 */
const clickRoute: Routes<IngestFeed> = async (app, feed) => {
  const secret = await loadSigningSecret(app.models, app.config);
  const prefix = app.config.queuePrefix;
  const redirect = (reply: FastifyReply, to: string) =>
    reply
      .code(302)
      .header('location', to)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .send();
  const tokenOf = (raw: string) => {
    const token = readClickToken(secret, raw);
    if (!token) throw new TrackMateError('TM_ERR_INVALID_LINK');
    return token;
  };
  const schema = {
    tags: ['campaigns'],
    params: Params,
    response: errorReplies(403),
  };

  app.get<{ Params: { '*': string } }>(
    '/r/*',
    {
      exposeHeadRoute: false,
      schema: {
        ...schema,
        summary: 'A tracked link of a campaign or flow e-mail',
        description:
          'Records an `email_click` event on the profile the link was sent to and redirects (302) to the ' +
          'destination, with `utm_source=trackmate`, `utm_medium=email`, `utm_campaign` (the name) and ' +
          '`utm_content` (the campaign or flow id) added unless the link has its own `utm_*`. Clicks within ' +
          '10 s of sending or by a robot agent are flagged `suspect` and left out of the results. 403 for a ' +
          'link that was not made here or was altered.',
      },
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const token = tokenOf(request.params['*']);
      const suspect = suspectClick(token, request.headers['user-agent'], receivedAt.getTime());
      await recordMailEvent(app, feed, request, {
        name: 'email_click',
        token,
        suspect,
        receivedAt,
        extra: { url: token.url },
        count: () => noteClick(app.redis, prefix, { ...token, suspect, at: receivedAt.getTime() }),
      });
      return redirect(reply, landingUrl(token));
    },
  );

  app.head<{ Params: { '*': string } }>(
    '/r/*',
    { schema: { ...schema, summary: 'A tracked link, checked without a click (no record)' } },
    async (request, reply) => redirect(reply, landingUrl(tokenOf(request.params['*']))),
  );
};

export default clickRoute;
