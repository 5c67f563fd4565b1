import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { queueDrained } from './helpers/platform-hooks.js';

let t: TestApp;
const events = () => t.db.collection('events');
const pixel = (query: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/p.gif?${new URLSearchParams(query)}`, { headers });
/** Everything acknowledged so far is stored: the ingest queue is drained. */
const settle = () => queueDrained(t.app.queues.ingest);

beforeAll(async () => {
  t = await startTestApp({ origins: ['https://shop.test'] });
});
afterAll(async () => {
  await t?.close();
});

describe('GET /p.gif', () => {
  it('stores a page_view for a <noscript> pixel and answers a 43-byte transparent GIF that is never cached', async () => {
    const res = await pixel(
      { writeKey: t.site.writeKey, title: 'Linen shirts' },
      {
        referer: 'https://shop.test/shirts/linen?utm_source=mail',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) NoScript',
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toContain('no-store');
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.length).toBe(43);
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');

    const stored = await waitFor(() => events().findOne({ 'properties.title': 'Linen shirts' }));
    expect(stored).toMatchObject({
      name: 'page_view',
      sentBy: 'client',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) NoScript',
    });
    expect(stored.properties.url).toMatch(/^https:\/\/shop\.test\/shirts\/linen/);
    expect(stored.properties.referrer).toBe('');
    expect(stored.context.library.name).toBe('trackmate-pixel');
    // no visitor id given: a daily one, the same for the same client, not the address itself
    expect(stored.anonymousId).toMatch(/^px_[A-Za-z0-9_-]{22}$/);
    await pixel(
      { writeKey: t.site.writeKey, title: 'Second page' },
      {
        referer: 'https://shop.test/b',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) NoScript',
      },
    );
    const second = await waitFor(() => events().findOne({ 'properties.title': 'Second page' }));
    expect(second.anonymousId).toBe(stored.anonymousId);
  });

  it('records an e-mail open (no Referer, a custom event with properties) once per messageId', async () => {
    const visitor = randomUUID();
    const q = {
      writeKey: t.site.writeKey,
      name: 'email_open',
      anonymousId: visitor,
      messageId: `open-${visitor}`,
      props: JSON.stringify({ campaign: 'winter-sale', issue: 42 }),
    };
    expect((await pixel(q)).status).toBe(200);
    expect((await pixel(q)).status).toBe(200);
    await settle();
    const opens = await events().find({ anonymousId: visitor }).toArray();
    expect(opens).toHaveLength(1);
    expect(opens[0]).toMatchObject({ name: 'email_open', properties: { campaign: 'winter-sale', issue: 42 } });
  });

  it('refuses an unknown or missing key with 401, a foreign Referer with 403 and a bad event with 400, storing nothing', async () => {
    const marker = randomUUID();
    const cases: Array<[Record<string, string>, Record<string, string>, number]> = [
      [{ writeKey: `pk_${'0'.repeat(32)}`, title: marker }, { referer: 'https://shop.test/' }, 401],
      [{ title: marker }, { referer: 'https://shop.test/' }, 401],
      [{ writeKey: t.site.writeKey, title: marker }, { referer: 'https://evil.test/page' }, 403],
      [{ writeKey: t.site.writeKey, name: 'Not A Name', title: marker }, { referer: 'https://shop.test/' }, 400],
      [{ writeKey: t.site.writeKey, title: marker, props: '[1,2]' }, { referer: 'https://shop.test/' }, 400],
      // a page view needs its page: no url and no Referer
      [{ writeKey: t.site.writeKey, title: marker }, {}, 400],
    ];
    for (const [query, headers, status] of cases) {
      const res = await pixel(query, headers);
      expect(res.status, JSON.stringify(query)).toBe(status);
    }
    await settle();
    expect(await events().countDocuments({ 'properties.title': marker })).toBe(0);
  });

  it('does not count a HEAD request (a mail proxy checking the image)', async () => {
    const res = await fetch(`${t.url}/p.gif?writeKey=${t.site.writeKey}&url=https://shop.test/head`, {
      method: 'HEAD',
    });
    expect(res.status).toBe(404);
    await settle();
    expect(await events().countDocuments({ 'properties.url': 'https://shop.test/head' })).toBe(0);
  });
});

describe('GET /p.gif rate limit', () => {
  let limited: TestApp;
  afterAll(async () => {
    await limited?.close();
  });
  it('is limited per client address like the JSON route (429 with Retry-After)', async () => {
    limited = await startTestApp({ env: { TRACKMATE_RATE_LIMIT_IP: '3' } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${limited.url}/p.gif?writeKey=${limited.site.writeKey}&url=https://shop.test/${i}`);
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses).toContain(429);
  });
});
