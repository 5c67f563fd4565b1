import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-TrackMate-Signature';

/**
 * `X-TrackMate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the subscription's
 * secret; @trackmate/node's verifyWebhookSignature checks it.
 */
export function signWebhook(secret: string, body: string, nowMs = Date.now()): string {
  const t = String(Math.floor(nowMs / 1000));
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}
