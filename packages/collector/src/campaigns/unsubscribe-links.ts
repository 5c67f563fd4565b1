import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import type { Models } from '../models/index.js';

/**
 * The installation's signing secret: TRACKMATE_SIGNING_SECRET, else one generated at first start and kept in
 * the `settings` collection, so links signed before a restart (or by another process) still verify.
 */
export async function loadSigningSecret(models: Models, config: Config): Promise<string> {
  if (config.signingSecret) return config.signingSecret;
  const generated = randomBytes(32).toString('base64url');
  await models.Setting.collection
    .insertOne({ _id: 'signingSecret', value: generated, createdAt: new Date() } as never)
    .catch((err: { code?: number }) => {
      if (err.code !== 11000) throw err; // another process generated it first: use theirs
    });
  const doc = await models.Setting.collection.findOne({ _id: 'signingSecret' } as never);
  if (!doc) throw new Error('signing secret missing from settings');
  return (doc as unknown as { value: string }).value;
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

export const SIGNATURE_HEADER = 'X-TrackMate-Signature';

/**
 * `X-TrackMate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the subscription's
 * secret; @trackmate/node's verifyWebhookSignature checks it.
 */
export function signWebhook(secret: string, body: string, nowMs = Date.now()): string {
  const t = String(Math.floor(nowMs / 1000));
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}
