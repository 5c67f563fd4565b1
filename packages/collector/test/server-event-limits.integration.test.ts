import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { secretApi } from './helpers/secret-api.js';

let t: TestApp;

// Two requests a minute per key, one per client IP: server traffic must be limited per site only.
beforeAll(async () => {
  t = await startTestApp({ env: { TRACKMATE_RATE_LIMIT_KEY: '2', TRACKMATE_RATE_LIMIT_IP: '1' } });
});
afterAll(async () => {
  await t?.close();
});

const post = (body: unknown) => secretApi(t.url, t.site.secretKey, 'POST', '/api/track/server-event', body);

describe('POST /api/track/server-event rate limit', () => {
  it('limits a site (not its backend IP) and answers 429 with Retry-After, storing nothing of the refused request', async () => {
    // the limiter counts fixed one-minute windows: keep the three requests inside one
    const second = new Date().getSeconds();
    if (second >= 55) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
    expect((await post({ event: 'limit_probe', messageId: 'l-1' })).status).toBe(202);
    // a second request from the same IP passes: the per-IP limit of browser traffic does not apply
    expect((await post({ event: 'limit_probe', messageId: 'l-2' })).status).toBe(202);
    const refused = await post({ event: 'limit_probe', messageId: 'l-3' });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('TM_ERR_RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await waitFor(async () => (await t.db.collection('events').countDocuments({ name: 'limit_probe' })) === 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(await t.db.collection('events').countDocuments({ messageId: { $in: ['l-3', 'srv:l-3'] } })).toBe(0);
  });
});
