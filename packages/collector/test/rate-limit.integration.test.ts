import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signClientIp } from '../src/plugins/client-ip-header.js';
import { createSite } from '../src/sites/index.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp } from './helpers/harness.js';

const CONSOLE_SECRET = 'console-secret-for-tests-0123456789abcdef';
const randomSecret = () => `sk_${randomBytes(32).toString('base64url')}`;

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
    u = await startTestApp({
      env: { TRACKMATE_RATE_LIMIT_AUTH_FAILURES: '3', TRACKMATE_CONSOLE_SECRET: CONSOLE_SECRET },
    });
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

  // Regression (issue 22): a valid key this process had not seen yet (a new site, a rotated key, a restarted
  // collector) got 429 from an address over its allowance, so guessing from a shared address locked it out
  it('never refuses a key some site has, even one it has not seen yet, from an address over its allowance', async () => {
    const guess = () => fetch(`${u.url}/api/profiles`, { headers: { authorization: `Bearer ${randomSecret()}` } });
    for (let i = 0; i < 4; i++) await guess();
    expect((await guess()).status).toBe(429);
    const fresh = await createSite(u.app.models, { name: 'Fresh shop', origins: [] });
    expect(u.app.siteKeys.knows('secret', fresh.secretKey)).toBe(false);
    // made by another process (here: straight into the database): seen within a second
    await new Promise((r) => setTimeout(r, 1_100));
    const call = (key: string) => fetch(`${u.url}/api/site`, { headers: { authorization: `Bearer ${key}` } });
    expect((await call(fresh.secretKey)).status).toBe(200);
    // rotated through the API: the new key works at once from the same address; guesses still get 429
    const rotated = await adminCall(u.url, fresh.secretKey, 'POST', '/api/site/rotate-key', { secret: true });
    expect((await call(rotated.body.secretKey)).status).toBe(200);
    expect((await postEvents(u.url, { ...clientEvent(), writeKey: fresh.writeKey })).status).toBe(202);
    expect((await guess()).status).toBe(429);
  });

  it("counts the console's calls against the visitor it names in a signed header, not against the console", async () => {
    // this address (the console's, here) is over its allowance from the tests above
    const unsigned = await fetch(`${u.url}/api/site`, { headers: { authorization: `Bearer ${randomSecret()}` } });
    expect(unsigned.status).toBe(429);
    const asConsole = (visitor: string, key: string, signature = signClientIp(CONSOLE_SECRET, visitor)) =>
      fetch(`${u.url}/api/site`, {
        headers: {
          authorization: `Bearer ${key}`,
          'x-trackmate-client-ip': visitor,
          'x-trackmate-client-ip-signature': signature,
        },
      });
    const attacker: number[] = [];
    for (let i = 0; i < 5; i++) attacker.push((await asConsole('198.51.100.7', randomSecret())).status);
    expect(attacker).toEqual([401, 401, 401, 429, 429]);
    // another visitor through the same console: their own allowance
    expect((await asConsole('203.0.113.5', randomSecret())).status).toBe(401);
    // a header not signed with the shared secret counts against the sender's own address
    const forged = await asConsole('203.0.113.99', randomSecret(), signClientIp('x'.repeat(32), '203.0.113.99'));
    expect(forged.status).toBe(429);
    const stale = await asConsole('203.0.113.98', randomSecret(), signClientIp(CONSOLE_SECRET, '203.0.113.98', 0));
    expect(stale.status).toBe(429);
  });
});
