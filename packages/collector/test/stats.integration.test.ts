import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeVisits } from '../src/analytics/index.js';
import { trafficFixture } from './fixtures/traffic.js';
import { adminCall } from './helpers/admin.js';
import { CLI, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

const exec = promisify(execFile);

const fixture = trafficFixture();
const { d1, d2 } = fixture;
const range = `from=${d1}&to=${d2}`;

describe('stats API over a fixture of known traffic', () => {
  let t: TestApp;
  const get = async (path: string) => {
    const res = await adminCall(t.url, t.site.secretKey, 'GET', path);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const rows = async (dimension: string, filters = '') => {
    const body = await get(
      `/api/stats/breakdown?${range}&dimension=${dimension}&limit=50${filters ? `&filters=${encodeURIComponent(filters)}` : ''}`,
    );
    return Object.fromEntries(
      body.rows.map((r: Record<string, unknown>) => [r.value, [r.visitors, r.visits, r.pageviews, r.bounces]]),
    );
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_TRUST_PROXY: 'true' } });
    let total = 0;
    for (const v of fixture.visits) {
      // no sentAt: the fixture's times are exact (with one, the clock-skew correction moves the browser events by
      // the request's latency, and a visit ending in a server order lost a second once that passed 500 ms)
      const res = await postEvents(
        t.url,
        { writeKey: t.site.writeKey, batch: v.events },
        { headers: { 'x-forwarded-for': v.ip, 'user-agent': v.ua } },
      );
      expect(res.status).toBe(202);
      total += v.events.length;
      // each visit is stored before the next one is sent (the order needs its buyer's browser to be known)
      await waitFor(async () => (await t.db.collection('events').countDocuments()) === total, 15_000, 'the visit');
      if (v.order) {
        const order = await fetch(`${t.url}/api/track/server-event`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            event: 'order_placed',
            orderId: `o-${randomUUID()}`,
            profile: { email: v.order.email },
            items: [{ name: 'Mug', sku: 'mug', amount: v.order.total, tax: 0, discount: 0 }],
            orderTotal: v.order.total,
            currency: v.order.currency,
            timestamp: new Date(v.order.at).toISOString(),
          }),
        });
        expect(order.status).toBe(202);
        total++;
        await waitFor(async () => (await t.db.collection('events').countDocuments()) === total, 15_000, 'the order');
      }
    }
    // an event is in MongoDB before its job's after-insert hooks (visit records, roll-ups) have run: the figures
    // are read once every job has finished
    await waitFor(
      async () => {
        const c = await t.app.queues.ingest.getJobCounts('waiting', 'active', 'delayed');
        return c.waiting + c.active + c.delayed === 0;
      },
      30_000,
      'the ingest jobs finished',
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Every figure the fixture must give, on every route and filter named here. */
  const expectFixtureFigures = async () => {
    const agg = await get(`/api/stats/aggregate?${range}&compare=previous`);
    expect(agg.results).toEqual({
      visitors: 4, // V1 on both days counts once: sketches merged over the range, not a sum of days (5)
      visits: 6,
      pageviews: 9,
      bounces: 2,
      totalDuration: 550,
      events: 16,
      orders: 2,
      revenue: 0,
      revenueByCurrency: { EUR: 40, USD: 25 },
      viewsPerVisit: 1.5,
      bounceRate: 0.3333,
      visitDuration: 92,
    });
    expect(agg.previous.results).toMatchObject({ visitors: 0, visits: 0, bounceRate: null, visitDuration: null });
    expect(agg.bots.visits).toBe(1);

    const series = await get(`/api/stats/timeseries?${range}`);
    expect(
      series.days.map((d: Record<string, unknown>) => [
        d.day,
        d.visitors,
        d.visits,
        d.pageviews,
        d.bounces,
        d.totalDuration,
        d.revenueByCurrency,
      ]),
    ).toEqual([
      [d1, 2, 3, 6, 1, 450, { EUR: 40 }],
      [d2, 3, 3, 3, 1, 100, { USD: 25 }],
    ]);

    // [visitors, visits, pageviews, bounces]
    expect(await rows('channel')).toEqual({
      Direct: [2, 2, 2, 1],
      'Paid Search': [1, 1, 3, 0],
      'Organic Social': [1, 1, 1, 1],
      'Organic Search': [1, 1, 2, 0],
      Email: [1, 1, 1, 0],
    });
    expect(await rows('country')).toEqual({ US: [1, 2, 4, 1], GB: [1, 2, 3, 1], JP: [1, 1, 1, 0], BR: [1, 1, 1, 0] });
    expect(await rows('device')).toEqual({ desktop: [2, 3, 5, 1], mobile: [2, 3, 4, 1] });
    expect(await rows('browser')).toEqual({
      Chrome: [2, 3, 5, 1],
      'Mobile Safari': [1, 2, 3, 1],
      Firefox: [1, 1, 1, 0],
    });
    expect(await rows('os')).toEqual({
      Windows: [1, 2, 4, 1],
      iOS: [1, 2, 3, 1],
      'Mac OS': [1, 1, 1, 0],
      Android: [1, 1, 1, 0],
    });
    expect(await rows('referrer')).toEqual({
      '(none)': [2, 2, 2, 1],
      'google.com': [1, 1, 3, 0],
      't.co': [1, 1, 1, 1],
      'duckduckgo.com': [1, 1, 2, 0],
      'mail.google.com': [1, 1, 1, 0],
    });
    expect(await rows('utmCampaign')).toEqual({ '(none)': [3, 5, 8, 2], spring: [1, 1, 1, 0] });
    expect(await rows('page')).toEqual({
      '/': [4, 5, 5, 1],
      '/mugs': [2, 2, 2, 0],
      '/cart': [1, 1, 1, 0],
      '/blog/post': [1, 1, 1, 1],
    });
    expect(await rows('entryPage')).toEqual({ '/': [4, 5, 8, 1], '/blog/post': [1, 1, 1, 1] });
    expect(await rows('exitPage')).toEqual({
      '/': [3, 3, 3, 1],
      '/cart': [1, 1, 3, 0],
      '/blog/post': [1, 1, 1, 1],
      '/mugs': [1, 1, 2, 0],
    });
    const events = await get(`/api/stats/breakdown?${range}&dimension=event&limit=50`);
    expect(
      Object.fromEntries(events.rows.map((r: Record<string, unknown>) => [r.value, [r.events, r.orders]])),
    ).toEqual({
      page_view: [9, 0],
      add_to_cart: [2, 0],
      identify: [2, 0],
      order_placed: [2, 2],
      deep_scroll: [1, 0],
    });

    // filters: every panel filtered by a source; a page; an exclusion; two at once
    expect(await rows('country', 'channel==Direct')).toEqual({ US: [1, 1, 1, 1], JP: [1, 1, 1, 0] });
    expect((await get(`/api/stats/aggregate?${range}&filters=channel%3D%3DDirect`)).results).toMatchObject({
      visitors: 2,
      visits: 2,
      pageviews: 2,
      bounces: 1,
      totalDuration: 40,
    });
    expect((await get(`/api/stats/aggregate?${range}&filters=page%3D%3D%2Fmugs`)).results).toMatchObject({
      visitors: 2,
      visits: 2,
      pageviews: 5,
      orders: 1,
      revenueByCurrency: { EUR: 40 },
    });
    expect(await rows('device', 'country!=US')).toEqual({ desktop: [1, 1, 1, 0], mobile: [2, 3, 4, 1] });
    expect(await rows('channel', 'device==mobile;browser==Chrome')).toEqual({ Email: [1, 1, 1, 0] });
    const filteredSeries = await get(`/api/stats/timeseries?${range}&filters=channel%3D%3DDirect`);
    expect(filteredSeries.days.map((d: Record<string, unknown>) => [d.day, d.visits])).toEqual([
      [d1, 0],
      [d2, 2],
    ]);

    // paging a long breakdown
    const page1 = await get(`/api/stats/breakdown?${range}&dimension=page&limit=3&page=1`);
    const page2 = await get(`/api/stats/breakdown?${range}&dimension=page&limit=3&page=2`);
    expect(page1.rows.map((r: { value: string }) => r.value)).toEqual(['/', '/mugs', '/blog/post']);
    expect([page1.hasMore, page2.hasMore, page2.rows.map((r: { value: string }) => r.value)]).toEqual([
      true,
      false,
      ['/cart'],
    ]);
  };

  it('gives exactly the expected figures while the visits are still open (summarised live from their events)', async () => {
    expect(await t.db.collection('visits').countDocuments()).toBe(0); // all open, in Redis
    // each open visit's stored events are kept as records beside it: what the live figures read
    const keys = await t.app.redis.keys(`${t.config.queuePrefix}:visitev:*`);
    const records = await Promise.all(keys.map((k) => t.app.redis.hgetall(k)));
    const recorded = records.reduce((n, r) => n + Object.keys(r).length, 0);
    expect(recorded).toBe(await t.db.collection('events').countDocuments({ visitId: { $type: 'string' } }));
    expect(keys.length).toBe(7);
    await expectFixtureFigures();
    // without the records (visits opened before they were kept) the figures come from the stored events, the same
    await t.app.redis.unlink(...keys);
    await expectFixtureFigures();
    for (const [i, key] of keys.entries()) await t.app.redis.hset(key, records[i]!);
  });

  it('gives the same figures from the roll-ups once the visits are closed, and closing again changes nothing', async () => {
    const later = Date.now() + 86_400_000;
    const closed = await closeVisits(t.app.models, t.app.redis, t.config.queuePrefix, { now: later });
    expect(closed).toBe(7);
    expect(await closeVisits(t.app.models, t.app.redis, t.config.queuePrefix, { now: later })).toBe(0);
    expect(await t.app.redis.keys(`${t.config.queuePrefix}:visitev:*`)).toEqual([]); // forgotten with their visits
    expect(await t.db.collection('stats_blocks').countDocuments({ jobs: { $ne: [] } })).toBe(0);
    await expectFixtureFigures();
    expect((await get(`/api/stats/aggregate?${range}`)).bots).toEqual({ visits: 1, events: 1 });
  });

  it('rollups rebuild (the CLI, twice) recomputes the same figures from the stored events alone', async () => {
    // what the worker stored is thrown away: enrichment, visits, roll-ups and sketches
    await t.db.collection('events').updateMany({}, { $unset: { source: '', device: '', bot: '', visitId: '' } });
    await t.db.collection('visits').deleteMany({});
    await t.db.collection('stats_blocks').deleteMany({});
    const copies = await t.app.redis.keys(`${t.config.queuePrefix}:sb:*`); // the blocks' copies in Redis
    expect(copies.length).toBeGreaterThan(0);
    await t.app.redis.unlink(...copies);
    for (let run = 0; run < 2; run++) {
      const { stdout, stderr } = await exec(process.execPath, [CLI, 'rollups', 'rebuild', '--site', t.site.siteId], {
        env: { ...process.env, ...t.env },
      });
      expect(stdout).toMatch(/^rebuilt 7 visits from 17 events of 1 site\(s\)/);
      expect(stderr).toMatch(/100% 17\/17 events/);
      await expectFixtureFigures();
    }
    expect(await t.db.collection('events').countDocuments({ visitId: null })).toBe(0);
  }, 120_000);

  it('answers a bad dimension, filter or range with 400 and a reason', async () => {
    const bad = async (path: string) => (await adminCall(t.url, t.site.secretKey, 'GET', path)).body;
    expect((await bad('/api/stats/breakdown?dimension=planet')).statusCode).toBe(400);
    expect((await bad('/api/stats/aggregate?filters=planet%3D%3Dmars')).message).toMatch(/Bad filter "planet==mars"/);
    expect((await bad('/api/stats/aggregate?from=2026-02-30')).message).toMatch(/not a day/);
    expect((await bad(`/api/stats/aggregate?from=${d2}&to=${d1}`)).message).toMatch(/from is after to/);
  });

  it('counts visitors now', async () => {
    expect((await get('/api/stats/realtime')).visitors).toBe(0);
  });
});
