import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';

/** Kept here for the campaign code that loads it; it lives with the secret box (plugins/secret-box.ts). */
export { loadSigningSecret } from '../plugins/secret-box.js';

const unsubscribeMac = (secret: string, siteId: string, profileId: string) =>
  createHmac('sha256', secret).update(`unsubscribe:${siteId}:${profileId}`).digest('base64url');

/** A link that withdraws the profile's e-mail consent; it never expires. */
export function unsubscribeUrl(config: Config, secret: string, siteId: string, profileId: string): string {
  const url = new URL('/api/unsubscribe', config.publicUrl);
  url.searchParams.set('site', siteId);
  url.searchParams.set('profile', profileId);
  url.searchParams.set('sig', unsubscribeMac(secret, siteId, profileId));
  return url.toString();
}

export function verifyUnsubscribe(secret: string, siteId: string, profileId: string, sig: string): boolean {
  const expected = Buffer.from(unsubscribeMac(secret, siteId, profileId));
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
