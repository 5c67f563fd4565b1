import { Types } from 'mongoose';
import { type Static, Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { recordConsent } from '../profiles/index.js';
import type { Routes } from '../route-kit.js';
import { escapeHtml, htmlPage as page } from './templates.js';
import { verifyUnsubscribe } from './unsubscribe-links.js';

const Query = Type.Object({
  site: Type.String({ maxLength: 24 }),
  profile: Type.String({ maxLength: 24 }),
  sig: Type.String({ maxLength: 100 }),
});
type Q = Static<typeof Query>;

/**
 * The signed unsubscribe link of campaign e-mails. GET shows a confirmation button (link scanners that open
 * every URL must not unsubscribe anybody); POST, from that button or a mail client's one-click unsubscribe
 * (RFC 8058), sets consent.email to false.
 */
const unsubscribeRoutes: Routes<{ signingSecret: string }> = async (app, { signingSecret }) => {
  // RFC 8058 one-click sends `List-Unsubscribe=One-Click` form-encoded; the body itself carries nothing we need.
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'multipart/form-data'],
    { parseAs: 'string', bodyLimit: 4_096 },
    (_r, _b, done) => done(null, {}),
  );
  const check = (q: Q) => {
    const ok =
      /^[0-9a-f]{24}$/.test(q.site) &&
      /^[0-9a-f]{24}$/.test(q.profile) &&
      verifyUnsubscribe(signingSecret, q.site, q.profile, q.sig);
    if (!ok) throw new TrackMateError('TM_ERR_INVALID_LINK');
    return q;
  };
  const schema = { tags: ['campaign triggers'], querystring: Query, hide: false };

  app.get(
    '/api/unsubscribe',
    { schema: { ...schema, summary: 'Unsubscribe page of a campaign e-mail link' } },
    async (request, reply) => {
      const q = check(request.query);
      const action = `/api/unsubscribe?${new URLSearchParams(q).toString()}`;
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          page(
            'Unsubscribe',
            `<p>Stop receiving these e-mails?</p><form method="post" action="${escapeHtml(action)}">` +
              `<button type="submit">Unsubscribe</button></form>`,
          ),
        );
    },
  );

  app.post(
    '/api/unsubscribe',
    { schema: { ...schema, summary: 'Withdraw e-mail consent (signed link)' } },
    async (request, reply) => {
      const q = check(request.query);
      const profileId = new Types.ObjectId(q.profile);
      const exists = await app.models.Profile.exists({ _id: profileId, siteId: q.site });
      if (exists) await recordConsent(app.models, profileId, false, new Date(), 'unsubscribe');
      request.log.info({ profileId: q.profile }, 'unsubscribed');
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page('You are unsubscribed', '<p>You will not receive these e-mails any more.</p>'));
    },
  );
};

export default unsubscribeRoutes;
