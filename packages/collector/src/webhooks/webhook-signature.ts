import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-TrackMate-Signature';

/**
 * `X-TrackMate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the subscription's
 * secret; @trackmate/node's verifyWebhookSignature checks it. While a secret is being rotated there is one
 * `v1=` per secret (the new one first), and one matching is enough.
 */
export function signWebhook(secret: string | string[], body: string, nowMs = Date.now()): string {
  const t = String(Math.floor(nowMs / 1000));
  const secrets = Array.isArray(secret) ? secret : [secret];
  const v1 = secrets.map((s) => `v1=${createHmac('sha256', s).update(`${t}.${body}`).digest('hex')}`);
  return `t=${t},${v1.join(',')}`;
}
