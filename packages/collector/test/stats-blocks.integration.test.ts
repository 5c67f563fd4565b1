import { STATS_DIMENSIONS } from '@trackmate/schema';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatsQuery } from '../src/analytics/stats-query.js';
import { rollUpVisits } from '../src/analytics/visit-closer.js';
import { addCounts, type Counts, NONE, rowsOfVisit, VISIT_DIMS, zero } from '../src/analytics/visit-summary.js';
import type { VisitDims, VisitDoc, VisitSummary } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

/** A seeded stream, so the fixture (and its visitors' sketches) is the same every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;

// 150 visits of 30 visitors from 2026-08-20 to 2026-11-10: whole months (September, October) and cut ones
const FROM = '2026-08-20';
const TO = '2026-11-10';
const DAY_MS = 86_400_000;

describe('stats from roll-up blocks equal the same stats computed from the stored visits', () => {
  let t: TestApp;
  let query: StatsQuery;
  let siteOid: Types.ObjectId;
  let stored: Array<Pick<VisitDoc, 'day' | 'visitor' | 'dims' | 'summary'>> = [];

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    const r = rng(19);
    const siteId = new Types.ObjectId(t.site.siteId);
    siteOid = siteId;
    const visits: VisitDoc[] = [];
    const events: Record<string, unknown>[] = [];
    const span = (Date.parse(`${TO}T00:00:00Z`) - Date.parse(`${FROM}T00:00:00Z`)) / DAY_MS + 1;
    for (let i = 0; i < 150; i++) {
      const visitor = `visitor-${Math.floor(r() * 30)}`;
      const start = Date.parse(`${FROM}T00:00:00Z`) + Math.floor(r() * span) * DAY_MS + Math.floor(r() * 80_000_000);
      const id = `${t.site.siteId}:${visitor}:${start}`;
      const bot = r() < 0.05;
      const dims: VisitDims = {
        channel: pick(r, ['Direct', 'Organic Search', 'Email', 'Referral']),
        referrer: pick(r, [null, 'www.google.com', 'blog.example.org']),
        utmSource: pick(r, [null, null, 'newsletter']),
        utmMedium: pick(r, [null, 'email']),
        utmCampaign: pick(r, [null, 'spring', '__proto__']),
        utmTerm: null,
        utmContent: null,
        country: pick(r, ['US', 'DE', 'FR', null]),
        region: null,
        browser: pick(r, ['Chrome', 'Firefox', 'Mobile Safari']),
        os: pick(r, ['Windows', 'iOS']),
        device: pick(r, ['desktop', 'mobile', 'tablet']),
        bot,
      };
      const n = 1 + Math.floor(r() * 5);
      const serverOnly = r() < 0.05;
      for (let k = 0; k < n; k++) {
        const view = k === 0 || r() < 0.6;
        events.push({
          siteId,
          visitId: id,
          name: serverOnly ? 'order_placed' : view ? 'page_view' : pick(r, ['button_click', 'video_play']),
          timestamp: new Date(start + k * Math.floor(r() * 40_000)),
          properties: serverOnly
            ? { orderTotal: 30, currency: 'USD' }
            : view
              ? { url: `https://shop.test${pick(r, ['/', '/mugs', '/mugs/blue', '/cart', '/blog/post'])}` }
              : {},
          context: {},
          sentBy: serverOnly ? 'server' : 'client',
        });
      }
      if (!serverOnly && r() < 0.15)
        events.push({
          siteId,
          visitId: id,
          name: 'order_placed',
          timestamp: new Date(start + n * 50_000),
          properties: { orderTotal: 25 + Math.floor(r() * 50), currency: pick(r, ['EUR', 'USD']) },
          context: {},
          sentBy: 'server',
        });
      visits.push({
        _id: id,
        siteId,
        visitor,
        day: new Date(start).toISOString().slice(0, 10),
        start: new Date(start),
        end: new Date(start + 60_000),
        touchedAt: new Date(),
        dims,
        closed: false,
      });
    }
    await t.db.collection('events').insertMany(events);
    // rolled up by the visit closer's own code, in three batches as successive closer runs would
    for (let k = 0; k < visits.length; k += 50)
      await rollUpVisits(t.app.models, t.app.redis, t.config.queuePrefix, visits.slice(k, k + 50));
    stored = await t.db
      .collection('visits')
      .find<Pick<VisitDoc, 'day' | 'visitor' | 'dims' | 'summary'>>({ closed: true })
      .toArray();
    expect(stored.length).toBe(150);
    query = new StatsQuery({ models: t.app.models, redis: t.app.redis, prefix: t.config.queuePrefix }, siteOid);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  });

  /** The scan: every stored visit of the range (bots left out) split into rows, summed, visitors counted exactly. */
  const scan = (dim: string, from: string, to: string, by: 'value' | 'day', keep = (_: VisitDims) => true) => {
    const out = new Map<string, Counts & { visitors: number }>();
    const seen = new Map<string, Set<string>>();
    for (const v of stored) {
      if (v.day < from || v.day > to || !keep(v.dims)) continue;
      for (const row of rowsOfVisit(v.dims, v.summary as VisitSummary)) {
        if (row.dim !== dim) continue;
        const k = by === 'day' ? v.day : row.value;
        const e = out.get(k) ?? { ...zero(), visitors: 0 };
        addCounts(e, row.counts);
        const who = seen.get(k) ?? new Set();
        if (row.counts.visits) who.add(v.visitor);
        seen.set(k, who);
        e.visitors = who.size;
        out.set(k, e);
      }
    }
    return out;
  };
  const sorted = (m: Map<string, unknown>) => [...m].sort(([a], [b]) => a.localeCompare(b));

  it('gives every dimension the same rows over a range of whole and cut months, and over part of one month', async () => {
    for (const [from, to] of [
      [FROM, TO],
      ['2026-09-01', '2026-10-31'],
      ['2026-10-03', '2026-10-17'],
    ] as const) {
      for (const dim of ['all', ...STATS_DIMENSIONS]) {
        const fromBlocks = await query.rows(dim, from, to, []);
        expect(sorted(fromBlocks), `${dim} ${from}..${to}`).toEqual(sorted(scan(dim, from, to, 'value')));
      }
      expect(sorted(await query.rows('all', from, to, [], 'day'))).toEqual(sorted(scan('all', from, to, 'day')));
    }
    // bots are counted apart, from their own block
    const bots = stored.filter((v) => v.dims.bot);
    expect(bots.length).toBeGreaterThan(0);
    expect(await query.bots(FROM, TO)).toEqual({
      visits: bots.length,
      events: bots.reduce((n, v) => n + (v.summary as VisitSummary).events, 0),
    });
  }, 120_000);

  it('answers the totals filtered on one value of a visit dimension from that value’s rows, as the visits give them', async () => {
    for (const dim of VISIT_DIMS) {
      const values = new Set(stored.map((v) => v.dims[dim as keyof VisitDims] ?? NONE).map(String));
      for (const value of values) {
        const keep = (d: VisitDims) => String(d[dim as keyof VisitDims] ?? NONE) === value;
        const filters = [{ dim, op: '==' as const, value }];
        expect(sorted(await query.rows('all', FROM, TO, filters)), `${dim}==${value}`).toEqual(
          sorted(scan('all', FROM, TO, 'value', keep)),
        );
        expect(sorted(await query.rows('all', FROM, TO, filters, 'day')), `${dim}==${value} by day`).toEqual(
          sorted(scan('all', FROM, TO, 'day', keep)),
        );
      }
    }
  }, 120_000);

  it('pages a breakdown in the order of the full sort (views, then visitors, then value)', async () => {
    const all = [...scan('page', FROM, TO, 'value')].sort(
      (a, b) => b[1].pageviews - a[1].pageviews || b[1].visitors - a[1].visitors || a[0].localeCompare(b[0]),
    );
    expect(all.length).toBe(5);
    for (const [start, limit] of [
      [0, 2],
      [2, 2],
      [4, 2],
      [1, 3],
    ] as const) {
      const page = await query.breakdown('page', FROM, TO, [], 'pageviews', start, limit);
      expect(page.rows).toEqual(all.slice(start, start + limit));
      expect(page.hasMore).toBe(all.length > start + limit);
    }
  }, 120_000);
});
