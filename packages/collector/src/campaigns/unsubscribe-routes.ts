import { type Static, Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { Routes } from '../route-kit.js';
import { consentLinkRoutes } from './consent-link.js';
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
  const check = (q: Q) => {
    const ok =
      /^[0-9a-f]{24}$/.test(q.site) &&
      /^[0-9a-f]{24}$/.test(q.profile) &&
      verifyUnsubscribe(signingSecret, q.site, q.profile, q.sig);
    if (!ok) throw new TrackMateError('TM_ERR_INVALID_LINK');
    return q;
  };
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
  });
};

export default unsubscribeRoutes;
