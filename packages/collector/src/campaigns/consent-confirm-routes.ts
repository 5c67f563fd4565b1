import { type Static, Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { Routes } from '../route-kit.js';
import { verifyConfirm } from './consent-confirmation.js';
import { consentLinkRoutes } from './consent-link.js';

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
  consentLinkRoutes(app, {
    path: '/api/consent/confirm',
    query: Query,
    check,
    decision: { email: true, source: 'confirmation' },
    ask: {
      summary: 'Confirmation page of a double opt-in e-mail',
      title: 'Confirm your subscription',
      html: '',
      button: 'Yes, send me e-mails',
    },
    done: {
      summary: 'Give e-mail consent (signed double opt-in link)',
      title: 'Subscription confirmed',
      html: '<p>Thank you: you will receive our e-mails.</p>',
      log: 'consent confirmed',
    },
  });
};

export default consentConfirmRoutes;
