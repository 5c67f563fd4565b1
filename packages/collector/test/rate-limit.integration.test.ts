import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEvent, postEvents, startTestApp, type TestApp } from './helpers/harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { TRACKMATE_RATE_LIMIT_IP: '5', TRACKMATE_RATE_LIMIT_KEY: '0' } });
});
afterAll(async () => {
  await t?.close();
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After past the per-IP limit, counted in Redis', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 7; i++) {
      const res = await postEvents(
        t.url,
        { writeKey: t.site.writeKey, batch: [clientEvent()] },
        { headers: { origin: 'https://shop.test' } },
      );
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        // readable by the browser SDK, so it can honour Retry-After
        expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.test');
        expect(res.headers.get('access-control-expose-headers')).toMatch(/Retry-After/i);
      }
    }
    expect(statuses.slice(0, 5)).toEqual([202, 202, 202, 202, 202]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(61);
    const keys = await t.app.redis.keys(`${t.config.queuePrefix}:rl:ip:*`);
    expect(keys.length).toBe(1);
  });
});

describe('unknown keys per client IP', () => {
  let u: TestApp;
  beforeAll(async () => {
    u = await startTestApp({ env: { TRACKMATE_RATE_LIMIT_AUTH_FAILURES: '3' } });
  });
  afterAll(async () => {
    await u?.close();
  });

  it('answers 429 to an address that keeps guessing keys, before any more lookups, while known keys keep working', async () => {
    const call = (key: string) => fetch(`${u.url}/api/profiles`, { headers: { authorization: `Bearer ${key}` } });
    expect((await call(u.site.secretKey)).status).toBe(200); // known from here on
    const guesses: number[] = [];
    for (let i = 0; i < 5; i++) guesses.push((await call(`sk_${randomBytes(32).toString('base64url')}`)).status);
    expect(guesses).toEqual([401, 401, 401, 429, 429]);
    const refused = await call(`sk_${randomBytes(32).toString('base64url')}`);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { message: string }).message).toMatch(/unknown keys/);
    // guessed write keys count against the same address
    const track = await postEvents(u.url, {
      ...clientEvent(),
      writeKey: `pk_${randomBytes(18).toString('base64url')}`,
    });
    expect(track.status).toBe(429);
    // the site's own keys, already known, are not held up by the guessing
    expect((await call(u.site.secretKey)).status).toBe(200);
  });
});
