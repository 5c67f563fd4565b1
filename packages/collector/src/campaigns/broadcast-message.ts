import type { Config } from '../config.js';
import type { CampaignDoc, ProfileDoc } from '../models/index.js';
import type { Mail } from './mailer.js';
import { escapeHtml, render, type TemplateContext } from './templates.js';
import { linkTracker } from './tracked-links.js';
import { unsubscribeUrl } from './unsubscribe-links.js';

export type Recipient = Pick<ProfileDoc, '_id' | 'siteId' | 'email' | 'firstName' | 'lastName'>;

/**
 * A broadcast's message for one person: the template filled with their profile, with their unsubscribe link;
 * `tracked` (the real sending, not a preview or test) rewrites its links to tracked ones (tracked-links.ts) and
 * has the unsubscribe link name the broadcast.
 */
export function broadcastMail(
  config: Config,
  signingSecret: string,
  campaign: Pick<CampaignDoc, '_id' | 'name' | 'subject' | 'body'>,
  profile: Recipient,
  to = profile.email ?? '',
  tracked = false,
): Mail {
  const id = campaign._id.toHexString();
  // the real sending's link names the broadcast, so an unsubscribe through it is counted in its results
  const link = unsubscribeUrl(
    config,
    signingSecret,
    profile.siteId.toHexString(),
    profile._id.toHexString(),
    tracked ? { kind: 'campaign', id } : undefined,
  );
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
  const track = tracked
    ? linkTracker(config, signingSecret, {
        siteId: profile.siteId.toHexString(),
        profileId: profile._id.toHexString(),
        source: { kind: 'campaign', id, name: campaign.name },
      })
    : (rendered: string) => rendered;
  return {
    to,
    subject: render(campaign.subject, ctx, 'text'),
    text: `${track(render(campaign.body, ctx, 'text'), 'text')}\n\n--\nUnsubscribe: ${link}\n`,
    html:
      `<!doctype html><html><body><div>${track(render(campaign.body, ctx, 'html'), 'html').replace(/\r?\n/g, '<br>\n')}</div>` +
      `<p style="font-size:12px;color:#666"><a href="${escapeHtml(link)}">Unsubscribe</a></p></body></html>`,
    unsubscribeUrl: link,
  };
}
