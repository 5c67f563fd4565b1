import { Types } from 'mongoose';
import { type Static, Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { recordConsent } from '../profiles/index.js';
import type { Routes } from '../route-kit.js';
import { verifyConfirm } from './consent-confirmation.js';
import { escapeHtml, htmlPage } from './templates.js';

const Query = Type.Object({
  site: Type.String({ maxLength: 24 }),
  profile: Type.String({ maxLength: 24 }),
  at: Type.String({ maxLength: 15 }),
  sig: Type.String({ maxLength: 100 }),
});
type Q = Static<typeof Query>;

/**
 * The signed link of a double opt-in e-mail. GET shows a button (mail scanners open every link and must not
 * subscribe anybody); POST from it records consent.email = true with source `confirmation`.
 */
const consentConfirmRoutes: Routes<{ signingSecret: string }> = async (app, { signingSecret }) => {
  const check = (q: Q) => {
    const verdict = verifyConfirm(signingSecret, q);
    if (verdict === 'invalid') throw new TrackMateError('TM_ERR_INVALID_LINK');
    if (verdict === 'expired') {
      throw new TrackMateError('TM_ERR_INVALID_LINK', {
        message: 'This confirmation link is more than 7 days old; sign up again to get a new one',
      });
    }
    return q;
  };
  const schema = { tags: ['campaign triggers'], querystring: Query };

  app.get(
    '/api/consent/confirm',
    { schema: { ...schema, summary: 'Confirmation page of a double opt-in e-mail' } },
    async (request, reply) => {
      const q = check(request.query);
      const action = `/api/consent/confirm?${new URLSearchParams(q).toString()}`;
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          htmlPage(
            'Confirm your subscription',
            `<form method="post" action="${escapeHtml(action)}"><button type="submit">Yes, send me e-mails</button></form>`,
          ),
        );
    },
  );

  app.post(
    '/api/consent/confirm',
    { schema: { ...schema, summary: 'Give e-mail consent (signed double opt-in link)' } },
    async (request, reply) => {
      const q = check(request.query);
      const profileId = new Types.ObjectId(q.profile);
      const exists = await app.models.Profile.exists({ _id: profileId, siteId: q.site });
      if (exists) await recordConsent(app.models, profileId, true, new Date(), 'confirmation');
      request.log.info({ profileId: q.profile }, 'consent confirmed');
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(htmlPage('Subscription confirmed', '<p>Thank you: you will receive our e-mails.</p>'));
    },
  );
};

export default consentConfirmRoutes;
