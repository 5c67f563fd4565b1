import { type Static, Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { Routes } from '../route-kit.js';
import { TEST_SEND_UNSUBSCRIBE } from './broadcast-message.js';
import { consentLinkRoutes } from './consent-link.js';
import { noteUnsubscribe } from './email-results.js';
import { htmlPage } from './templates.js';
import { readSourceParam, verifyUnsubscribe } from './unsubscribe-links.js';

const Query = Type.Object({
  site: Type.String({ maxLength: 24 }),
  profile: Type.String({ maxLength: 24 }),
  src: Type.Optional(
    Type.String({
      maxLength: 40,
      description: 'The broadcast (`c.<id>`) or flow step (`f.<id>.<step>`) that sent the link, signed with it',
    }),
  ),
  sig: Type.String({ maxLength: 100 }),
});
type Q = Static<typeof Query>;

/**
 * The signed unsubscribe link of campaign e-mails. GET shows a confirmation button (link scanners that open
 * every URL must not unsubscribe anybody); POST, from that button or a mail client's one-click unsubscribe
 * (RFC 8058), sets consent.email to false. A link that names the broadcast or flow step that sent it (`src`)
 * counts the person, once, in that e-mail's `unsubscribed` when the POST withdrew their consent.
 */
const unsubscribeRoutes: Routes<{ signingSecret: string }> = async (app, { signingSecret }) => {
  const check = (q: Q) => {
    const ok =
      /^[0-9a-f]{24}$/.test(q.site) &&
      /^[0-9a-f]{24}$/.test(q.profile) &&
      (q.src === undefined || readSourceParam(q.src) !== null) &&
      verifyUnsubscribe(signingSecret, q.site, q.profile, q.sig, q.src);
    if (!ok) throw new TrackMateError('TM_ERR_INVALID_LINK');
    return q;
  };
  // a test send's link: its sample profile filled the template, and whoever got the test is not that person
  app.get(
    TEST_SEND_UNSUBSCRIBE,
    // a page for people, not part of the API (like the unsubscribe page, it answers no JSON)
    { schema: { hide: true, summary: 'Unsubscribe link of a test send (unsubscribes nobody)' } },
    async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          htmlPage(
            'Test send',
            '<p>This e-mail was a test send. Its unsubscribe link unsubscribes nobody; in the real e-mail it withdraws the recipient’s consent.</p>',
          ),
        ),
  );
  consentLinkRoutes(app, {
    path: '/api/unsubscribe',
    query: Query,
    check,
    decision: { email: false, source: 'unsubscribe' },
    ask: {
      summary: 'Unsubscribe page of a campaign e-mail link',
      title: 'Unsubscribe',
      html: '<p>Stop receiving these e-mails?</p>',
      button: 'Unsubscribe',
    },
    done: {
      summary: 'Withdraw e-mail consent (signed link)',
      title: 'You are unsubscribed',
      html: '<p>You will not receive these e-mails any more.</p>',
      log: 'unsubscribed',
    },
    decided: async (q, profileId, changed) => {
      const source = readSourceParam(q.src);
      if (source && changed) await noteUnsubscribe(app.redis, app.config.queuePrefix, source, profileId.toHexString());
    },
  });
};

export default unsubscribeRoutes;
