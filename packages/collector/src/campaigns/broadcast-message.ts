import type { Config } from '../config.js';
import type { CampaignDoc, ProfileDoc } from '../models/index.js';
import type { Mail } from './mailer.js';
import { escapeHtml, render, type TemplateContext } from './templates.js';
import { unsubscribeUrl } from './unsubscribe-links.js';

export type Recipient = Pick<ProfileDoc, '_id' | 'siteId' | 'email' | 'firstName' | 'lastName'>;

/** A broadcast's message for one person: the template filled with their profile, with their unsubscribe link. */
export function broadcastMail(
  config: Config,
  signingSecret: string,
  campaign: Pick<CampaignDoc, 'subject' | 'body'>,
  profile: Recipient,
  to = profile.email ?? '',
): Mail {
  const link = unsubscribeUrl(config, signingSecret, profile.siteId.toHexString(), profile._id.toHexString());
  const ctx: TemplateContext = {
    profile: {
      id: profile._id.toHexString(),
      email: profile.email ?? '',
      firstName: profile.firstName ?? '',
      lastName: profile.lastName ?? '',
    },
    event: { name: 'broadcast', timestamp: new Date().toISOString(), properties: {} },
    unsubscribeUrl: link,
  };
  return {
    to,
    subject: render(campaign.subject, ctx, 'text'),
    text: `${render(campaign.body, ctx, 'text')}\n\n--\nUnsubscribe: ${link}\n`,
    html:
      `<!doctype html><html><body><div>${render(campaign.body, ctx, 'html').replace(/\r?\n/g, '<br>\n')}</div>` +
      `<p style="font-size:12px;color:#666"><a href="${escapeHtml(link)}">Unsubscribe</a></p></body></html>`,
    unsubscribeUrl: link,
  };
}
