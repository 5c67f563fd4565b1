import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Each platform's own webhook signature, checked over the raw bytes of the body exactly as they arrived (a
 * parsed and re-serialised body would not match). Comparisons take constant time.
 */

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
const hmac = (secret: string, ...parts: Array<string | Buffer>) => {
  const mac = createHmac('sha256', secret);
  for (const p of parts) mac.update(p);
  return mac.digest();
};

/** Shopify: `X-Shopify-Hmac-Sha256` is base64(HMAC-SHA256(secret, body)). */
export function verifyShopify(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !/^[A-Za-z0-9+/]{43}=$/.test(header.trim())) return false;
  return sameBytes(hmac(secret, body), Buffer.from(header.trim(), 'base64'));
}

/** WooCommerce: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(secret, body)), as Shopify's. */
export const verifyWooCommerce = verifyShopify;

/** How far a Stripe signature's timestamp may be from now (Stripe's libraries' default). */
export const STRIPE_TOLERANCE_S = 300;

export type StripeVerdict = 'ok' | 'bad' | 'stale';

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each v1 being hex(HMAC-SHA256(secret,
 * `${t}.${body}`)) — several while a secret is being rolled. Any matching v1 verifies the body; a timestamp more
 * than `toleranceS` from now makes it `stale` (a replayed delivery), even when the signature matches.
 */
export function verifyStripe(
  body: Buffer,
  header: string | undefined,
  secret: string,
  nowS = Math.floor(Date.now() / 1000),
  toleranceS = STRIPE_TOLERANCE_S,
): StripeVerdict {
  if (!header || header.length > 2048) return 'bad';
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = value;
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) v1.push(Buffer.from(value, 'hex'));
  }
  if (!t || !v1.length) return 'bad';
  const expected = hmac(secret, `${t}.`, body);
  if (!v1.some((sig) => sameBytes(sig, expected))) return 'bad';
  return Math.abs(nowS - Number(t)) > toleranceS ? 'stale' : 'ok';
}
