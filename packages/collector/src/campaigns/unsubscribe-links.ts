import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { MAX_STEP, type MailSource } from './tracked-links.js';

/** Kept here for the campaign code that loads it; it lives with the secret box (plugins/secret-box.ts). */
export { loadSigningSecret } from '../plugins/secret-box.js';

/** What sent the e-mail whose unsubscribe link was followed (`src`), counted in its results when confirmed. */
export type UnsubscribeSource = Pick<MailSource, 'kind' | 'id' | 'step'>;

/** `c.<campaign id>` for a broadcast, `f.<trigger id>.<step>` for a flow's e-mail step. */
export const sourceParam = (s: UnsubscribeSource) => (s.kind === 'campaign' ? `c.${s.id}` : `f.${s.id}.${s.step ?? 1}`);

const SOURCE = /^(?:c\.([0-9a-f]{24})|f\.([0-9a-f]{24})\.(\d{1,2}))$/;

/** The source a `src` parameter names, or null when it names none (or is not one). */
export function readSourceParam(src: string | undefined): UnsubscribeSource | null {
  const m = src ? SOURCE.exec(src) : null;
  if (!m) return null;
  if (m[1]) return { kind: 'campaign', id: m[1] };
  const step = Number(m[3]);
  return step >= 1 && step <= MAX_STEP ? { kind: 'flow', id: m[2]!, step } : null;
}

/** The signature covers the site, the profile and, when the link has one, its source. */
const unsubscribeMac = (secret: string, siteId: string, profileId: string, src?: string) =>
  createHmac('sha256', secret)
    .update(`unsubscribe:${siteId}:${profileId}${src ? `:${src}` : ''}`)
    .digest('base64url');

/**
 * A link that withdraws the profile's e-mail consent; it never expires. `source`: the broadcast or flow step
 * that sent it (signed with the rest), so a confirmed unsubscribe is counted in that e-mail's results.
 */
export function unsubscribeUrl(
  config: Pick<Config, 'publicUrl'>,
  secret: string,
  siteId: string,
  profileId: string,
  source?: UnsubscribeSource,
): string {
  const url = new URL('/api/unsubscribe', config.publicUrl);
  const src = source ? sourceParam(source) : undefined;
  url.searchParams.set('site', siteId);
  url.searchParams.set('profile', profileId);
  url.searchParams.set('sig', unsubscribeMac(secret, siteId, profileId, src));
  if (src) url.searchParams.set('src', src);
  return url.toString();
}

export function verifyUnsubscribe(secret: string, siteId: string, profileId: string, sig: string, src?: string) {
  const expected = Buffer.from(unsubscribeMac(secret, siteId, profileId, src));
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
