import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyShopify, verifyStripe } from '../signatures.js';
import { fromMinor } from '../stripe.js';

const body = Buffer.from('{"id":1,"total_price":"10.00"}');
const secret = 'a-site-secret-of-32-characters!!';
const stripeHeader = (t: number, key = secret, payload = body) =>
  `t=${t},v1=${createHmac('sha256', key).update(`${t}.`).update(payload).digest('hex')}`;

describe('platform signatures', () => {
  it("Shopify's (and WooCommerce's): base64 HMAC-SHA256 of the exact bytes", () => {
    const good = createHmac('sha256', secret).update(body).digest('base64');
    expect(verifyShopify(body, good, secret)).toBe(true);
    expect(verifyShopify(Buffer.from(`${body} `), good, secret)).toBe(false);
    expect(verifyShopify(body, good, 'another secret')).toBe(false);
    expect(verifyShopify(body, undefined, secret)).toBe(false);
    expect(verifyShopify(body, good.slice(0, 20), secret)).toBe(false);
  });

  it("Stripe's: any v1 of t.body within 5 minutes; a matching but old one is stale", () => {
    const now = 1_800_000_000;
    expect(verifyStripe(body, stripeHeader(now), secret, now)).toBe('ok');
    // a secret being rolled: two v1 signatures, either verifies
    const two = `${stripeHeader(now, 'the old secret')},v1=${stripeHeader(now).split('v1=')[1]},v0=abc`;
    expect(verifyStripe(body, two, secret, now)).toBe('ok');
    expect(verifyStripe(body, stripeHeader(now - 301), secret, now)).toBe('stale');
    expect(verifyStripe(body, stripeHeader(now + 301), secret, now)).toBe('stale');
    expect(verifyStripe(body, stripeHeader(now, 'whsec_other'), secret, now)).toBe('bad');
    expect(verifyStripe(Buffer.from('{}'), stripeHeader(now), secret, now)).toBe('bad');
    expect(verifyStripe(body, `t=${now}`, secret, now)).toBe('bad');
    expect(verifyStripe(body, undefined, secret, now)).toBe('bad');
  });

  it("reads Stripe's minor units per currency: cents, whole yen, thousandths of a dinar", () => {
    expect(fromMinor(1999, 'USD')).toBe(19.99);
    expect(fromMinor(13200, 'JPY')).toBe(13200);
    expect(fromMinor(1500, 'KWD')).toBe(1.5);
    expect(fromMinor('12', 'USD')).toBe(0);
  });
});
