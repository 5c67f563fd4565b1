import type { Types } from 'mongoose';
import type { Config } from '../config.js';
import type { Models } from '../models/index.js';
import { escapeHtml } from './templates.js';
import { type MailToken, sealToken, unsealToken } from './tracked-links.js';

/**
 * The open pixel of campaign and flow e-mails, for sites that turn open tracking on (`emailOpenTracking`, off by
 * default): a 1×1 image on the collector, `<publicUrl>/o/<payload>.<signature>.gif`, whose signed token names the
 * person, the broadcast or flow step and the time of sending, like a tracked link's (tracked-links.ts).
 */
export function openUrl(config: Pick<Config, 'publicUrl'>, secret: string, token: MailToken): string {
  return new URL(`/o/${sealToken(secret, 'open', token)}.gif`, config.publicUrl).toString();
}

/** The token of a `/o/….gif` path segment, or null when it was not made here for an open (or was altered). */
export function readOpenToken(secret: string, raw: string): MailToken | null {
  if (!raw.endsWith('.gif')) return null;
  return unsealToken(secret, 'open', raw.slice(0, -'.gif'.length))?.token ?? null;
}

/** The pixel as the HTML part's last element. */
export const pixelTag = (url: string) =>
  `<img src="${escapeHtml(url)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;

/** Whether the site tracks opens of its campaign and flow e-mails (a site setting, off by default). */
export async function opensTracked(models: Pick<Models, 'Site'>, siteId: Types.ObjectId): Promise<boolean> {
  const site = await models.Site.findById(siteId, { emailOpenTracking: 1 }).lean();
  return site?.emailOpenTracking === true;
}
