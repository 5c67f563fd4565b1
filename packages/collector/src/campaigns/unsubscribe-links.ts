import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { TrackMateError } from '../errors.js';
import { isDuplicateKey, type Models } from '../models/index.js';

/**
 * The installation's signing secret: TRACKMATE_SIGNING_SECRET, else one generated at first start and kept in
 * the `settings` collection, so links signed before a restart (or by another process) still verify.
 */
export async function loadSigningSecret(models: Models, config: Config): Promise<string> {
  if (config.signingSecret) return config.signingSecret;
  const generated = randomBytes(32).toString('base64url');
  await models.Setting.create({ _id: 'signingSecret', value: generated, createdAt: new Date() }).catch((err) => {
    if (!isDuplicateKey(err)) throw err; // another process generated it first: use theirs
  });
  const doc = await models.Setting.findById('signingSecret').lean();
  if (!doc) throw new TrackMateError('TM_ERR_DATABASE', { message: 'The signing secret is missing from settings' });
  return doc.value;
}

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
