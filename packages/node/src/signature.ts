import { hmacSha256Hex, timingSafeEqualText } from './hmac-sha256.js';

/**
 * Outgoing webhooks are signed with header
 * `X-TrackMate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * Several `v1=` entries may appear (while a secret is rotated); one matching is enough.
 */
export const SIGNATURE_HEADER = 'x-trackmate-signature';

export interface VerifyWebhookOptions {
  /** The raw request body, exactly as received: not re-serialized JSON. */
  body: string | Uint8Array;
  /** The `X-TrackMate-Signature` header value (a Node `req.headers` value may be passed as it is). */
  header: string | string[] | null | undefined;
  /** The webhook subscription's secret. */
  secret: string;
  /** How far the signed time may be from now, in seconds, either way. Default 300; Infinity turns it off. */
  toleranceSeconds?: number;
  /** Current time in ms, for tests. Default `Date.now()`. */
  now?: number;
}

/** True when the body was signed with `secret` within the tolerance; false for anything else. */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const { body, secret, toleranceSeconds = 300, now = Date.now() } = options;
  const header = Array.isArray(options.header) ? options.header[0] : options.header;
  if (typeof header !== 'string' || !secret) return false;

  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') timestamp = value;
    else if (key === 'v1') signatures.push(value);
  }
  if (!timestamp || !/^\d{1,15}$/.test(timestamp) || signatures.length === 0) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) return false;

  const expected = hmac(secret, timestamp, body);
  return signatures.some((signature) => {
    if (!/^[0-9a-f]{64}$/i.test(signature)) return false;
    return timingSafeEqualText(expected, signature.toLowerCase());
  });
}

/** The header value TrackMate sends for `body`; for testing a receiver. */
export function signWebhookPayload(options: {
  body: string | Uint8Array;
  secret: string;
  /** Unix seconds. Default now. */
  timestamp?: number;
}): string {
  const t = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  return `t=${t},v1=${hmac(options.secret, t, options.body)}`;
}

/** Runtime-neutral (see hmac-sha256.ts): the same on Node and on edge runtimes that have no `node:crypto`. */
function hmac(secret: string, timestamp: string, body: string | Uint8Array): string {
  return hmacSha256Hex(secret, `${timestamp}.`, body);
}
