import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

describe('read-only stats keys and share links', () => {
  let t: TestApp;
  const as = (key: string, method: string, path: string, body?: unknown) => adminCall(t.url, key, method, path, body);

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reads the stats routes only, is never shown again, and stops working once revoked', async () => {
    const made = await as(t.site.secretKey, 'POST', '/api/site/stats-keys', { kind: 'link', label: 'Investors' });
    expect(made.status).toBe(201);
    const { key, id } = made.body;
    expect(key).toMatch(/^sk_/);
    const list = await as(t.site.secretKey, 'GET', '/api/site/stats-keys');
    expect(list.body.keys).toEqual([{ id, kind: 'link', label: 'Investors', createdAt: made.body.createdAt }]);
    expect(JSON.stringify(list.body)).not.toContain(key);

    for (const path of [
      '/api/stats/aggregate',
      '/api/stats/timeseries',
      '/api/stats/breakdown?dimension=channel',
      '/api/stats/realtime',
    ]) {
      expect((await as(key, 'GET', path)).status, path).toBe(200);
    }
    // no profiles, events, site settings, keys or writes
    for (const [method, path] of [
      ['GET', '/api/profiles'],
      ['GET', '/api/events'],
      ['GET', '/api/site'],
      ['GET', '/api/site/stats-keys'],
      ['GET', '/api/metrics'],
      ['POST', '/api/site/rotate-key'],
    ] as const) {
      const res = await as(key, method, path, method === 'POST' ? { write: true } : undefined);
      expect(res.status, path).toBe(403);
      expect(res.body.message).toMatch(/read-only stats key/);
    }
    const server = await as(key, 'POST', '/api/track/server-event', { event: 'x_y' });
    expect(server.status).toBe(403);

    expect((await as(t.site.secretKey, 'DELETE', `/api/site/stats-keys/${id}`)).status).toBe(204);
    expect((await as(key, 'GET', '/api/stats/aggregate')).status).toBe(401);
    expect((await as(t.site.secretKey, 'DELETE', `/api/site/stats-keys/${id}`)).status).toBe(404);
  });

  it('sets the site time zone the stats count days in, and refuses an unknown one', async () => {
    const ok = await as(t.site.secretKey, 'PATCH', '/api/site', { timezone: 'Europe/Berlin' });
    expect(ok.status).toBe(200);
    expect(ok.body.timezone).toBe('Europe/Berlin');
    expect((await as(t.site.secretKey, 'GET', '/api/stats/aggregate')).body.timezone).toBe('Europe/Berlin');
    const bad = await as(t.site.secretKey, 'PATCH', '/api/site', { timezone: 'Mars/Olympus' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/IANA name/);
  });
});
