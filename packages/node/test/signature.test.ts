import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256Hex } from '../src/hmac-sha256.js';
import { signWebhookPayload, verifyWebhookSignature } from '../src/index.js';

const secret = 'whsec_test';
const body = JSON.stringify({ event: 'order_placed', orderId: 'ORD-1', orderTotal: 12 });
const now = 1_780_000_000_000;
const t = now / 1000;

describe('verifyWebhookSignature', () => {
  it('accepts the header TrackMate computes for the raw body', () => {
    const header = signWebhookPayload({ body, secret, timestamp: t });
    expect(verifyWebhookSignature({ body, header, secret, now })).toBe(true);
    expect(verifyWebhookSignature({ body: Buffer.from(body), header: [header], secret, now })).toBe(true);
  });

  it('follows the documented format: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signWebhookPayload({ body, secret, timestamp: t })).toBe(`t=${t},v1=${v1}`);
    expect(verifyWebhookSignature({ body, header: `t=${t}, v1=${v1}`, secret, now })).toBe(true);
  });

  it('rejects a tampered body, a wrong secret and a tampered timestamp', () => {
    const header = signWebhookPayload({ body, secret, timestamp: t });
    expect(verifyWebhookSignature({ body: body.replace('12', '13'), header, secret, now })).toBe(false);
    expect(verifyWebhookSignature({ body, header, secret: 'whsec_other', now })).toBe(false);
    expect(verifyWebhookSignature({ body, header: header.replace(`t=${t}`, `t=${t + 1}`), secret, now })).toBe(false);
  });

  it('rejects a signature older or newer than the tolerance, and honours a custom tolerance', () => {
    const old = signWebhookPayload({ body, secret, timestamp: t - 301 });
    const future = signWebhookPayload({ body, secret, timestamp: t + 301 });
    expect(verifyWebhookSignature({ body, header: old, secret, now })).toBe(false);
    expect(verifyWebhookSignature({ body, header: future, secret, now })).toBe(false);
    expect(verifyWebhookSignature({ body, header: old, secret, now, toleranceSeconds: 600 })).toBe(true);
    const edge = signWebhookPayload({ body, secret, timestamp: t - 300 });
    expect(verifyWebhookSignature({ body, header: edge, secret, now })).toBe(true);
  });

  it('accepts any one matching v1 among several (secret rotation)', () => {
    const good = signWebhookPayload({ body, secret, timestamp: t }).split('v1=')[1];
    const bad = 'ab'.repeat(32);
    expect(verifyWebhookSignature({ body, header: `t=${t},v1=${bad},v1=${good}`, secret, now })).toBe(true);
    expect(verifyWebhookSignature({ body, header: `t=${t},v1=${bad}`, secret, now })).toBe(false);
  });

  it('returns false, never throws, for a missing or malformed header', () => {
    for (const header of [
      undefined,
      null,
      '',
      'garbage',
      `t=${t}`,
      'v1=abc',
      `t=abc,v1=${'a'.repeat(64)}`,
      `t=${t},v1=xyz`,
    ]) {
      expect(verifyWebhookSignature({ body, header, secret, now })).toBe(false);
    }
    expect(
      verifyWebhookSignature({
        body,
        header: signWebhookPayload({ body, secret, timestamp: t }),
        secret: '',
        now,
      }),
    ).toBe(false);
  });
});

describe('the runtime-neutral HMAC-SHA-256 (no node:crypto on edge runtimes)', () => {
  it('computes what node:crypto computes, for keys and messages of every length around the block size', () => {
    for (let keyLength = 0; keyLength <= 130; keyLength += 13) {
      for (const messageLength of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1_000, 70_000]) {
        const key = randomBytes(keyLength).toString('base64').slice(0, keyLength);
        const message = `${randomBytes(messageLength).toString('latin1')}é€😀`.slice(0, messageLength + 3);
        const expected = createHmac('sha256', key).update('t.').update(message).digest('hex');
        expect(hmacSha256Hex(key, 't.', message), `key ${keyLength}, message ${messageLength}`).toBe(expected);
      }
    }
    const bytes = randomBytes(300);
    expect(hmacSha256Hex('k', bytes)).toBe(createHmac('sha256', 'k').update(bytes).digest('hex'));
  });
});
