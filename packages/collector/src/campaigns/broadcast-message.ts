import type { Config } from '../config.js';
import type { CampaignDoc, ProfileDoc } from '../models/index.js';
import type { Mail } from './mailer.js';
import { openUrl, pixelTag } from './open-pixel.js';
import { escapeHtml, render, type TemplateContext } from './templates.js';
import { linkTracker } from './tracked-links.js';
import { unsubscribeUrl } from './unsubscribe-links.js';

export type Recipient = Pick<ProfileDoc, '_id' | 'siteId' | 'email' | 'firstName' | 'lastName'>;

/**
 * A campaign or flow e-mail's two parts around its rendered (and tracked) body: the text part ends with the
 * unsubscribe link, the HTML part with an unsubscribe link and, when the site tracks opens, the open pixel.
 */
export function messageParts(body: { text: string; html: string }, unsubscribe: string, pixel?: string) {
  return {
    text: `${body.text}\n\n--\nUnsubscribe: ${unsubscribe}\n`,
    html:
      `<!doctype html><html><body><div>${body.html.replace(/\r?\n/g, '<br>\n')}</div>` +
      `<p style="font-size:12px;color:#666"><a href="${escapeHtml(unsubscribe)}">Unsubscribe</a></p>` +
      `${pixel ? pixelTag(pixel) : ''}</body></html>`,
  };
}

/** Where a test send's unsubscribe link leads: a page that says it unsubscribes nobody. */
export const TEST_SEND_UNSUBSCRIBE = '/api/unsubscribe/test-send';

/**
 * A broadcast's message for one person: the template filled with their profile, with their unsubscribe link.
 * `tracking` (the real sending, not a preview or test) rewrites its links to tracked ones (tracked-links.ts),
 * has the unsubscribe link name the broadcast, and adds the open pixel when the site tracks opens.
 */
export function broadcastMail(
  config: Config,
  signingSecret: string,
  campaign: Pick<CampaignDoc, '_id' | 'name' | 'subject' | 'body'>,
  profile: Recipient,
  to = profile.email ?? '',
  tracking?: { opens: boolean },
  /** A test send's: the profile only fills the template, so its own unsubscribe link must not be in the mail. */
  sample = false,
): Mail {
  const id = campaign._id.toHexString();
  const siteId = profile.siteId.toHexString();
  const profileId = profile._id.toHexString();
  const link = sample
    ? new URL(TEST_SEND_UNSUBSCRIBE, config.publicUrl).toString()
    : unsubscribeUrl(config, signingSecret, siteId, profileId, tracking ? { kind: 'campaign', id } : undefined);
  const ctx: TemplateContext = {
    profile: {
      id: profileId,
      email: profile.email ?? '',
      firstName: profile.firstName ?? '',
      lastName: profile.lastName ?? '',
    },
    event: { name: 'broadcast', timestamp: new Date().toISOString(), properties: {} },
    unsubscribeUrl: link,
  };
  const who = { siteId, profileId, source: { kind: 'campaign' as const, id, name: campaign.name } };
  const sentAt = Date.now();
  const track = tracking ? linkTracker(config, signingSecret, who, sentAt) : (rendered: string) => rendered;
  const parts = messageParts(
    {
      text: track(render(campaign.body, ctx, 'text'), 'text'),
      html: track(render(campaign.body, ctx, 'html'), 'html'),
    },
    link,
    tracking?.opens ? openUrl(config, signingSecret, { ...who, sentAt }) : undefined,
  );
  return { to, subject: render(campaign.subject, ctx, 'text'), ...parts, unsubscribeUrl: link };
}
