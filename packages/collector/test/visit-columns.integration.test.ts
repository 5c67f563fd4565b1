import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Filter, StatsQuery } from '../src/analytics/stats-query.js';
import { columnsKey, recordsSinceKey, writeVisitRecords } from '../src/analytics/visit-records.js';
import { addCounts, type Counts, rowsOfVisit, zero } from '../src/analytics/visit-summary.js';
import type { VisitDims, VisitSummary } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

// 20 days (more than one read of days' records) of 30 visits each, visitors returning across days
const DAYS = Array.from({ length: 20 }, (_, i) => `2026-09-${String(i + 1).padStart(2, '0')}`);

interface Visit {
  day: string;
  visitor: string;
  dims: VisitDims;
  summary: VisitSummary;
}

function visitOf(d: number, i: number): Visit {
  const pages = ['/', `/p/${(d + i) % 7}`, `/p/${(d * i) % 11}`].slice(0, 1 + (i % 3));
  const uniq = [...new Set(pages)];
  const orders = i % 9 === 4 ? 1 : 0;
  return {
    day: DAYS[d]!,
    visitor: `cv-${(d * 7 + i * 13) % 45}`,
    dims: {
      channel: ['Direct', 'Email', 'Referral'][i % 3]!,
      referrer: null,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      utmTerm: null,
      utmContent: null,
      country: ['DE', 'US', 'FR', 'DE'][(d + i) % 4]!,
      region: null,
      browser: 'Firefox',
      os: 'Linux',
      device: i % 2 ? 'mobile' : 'desktop',
      bot: false,
    },
    summary: {
      client: true,
      pageviews: uniq.length,
      events: uniq.length + orders,
      bounce: uniq.length === 1 && i % 2 ? 1 : 0,
      duration: i * 37,
      entryPage: uniq[0]!,
      exitPage: uniq.at(-1)!,
      orders,
      revenue: orders ? 19.99 : 0,
      revenueByCurrency: orders ? { EUR: 19.99 } : {},
      pages: uniq.map((page) => ({ page, views: 1 })),
      names: [
        { name: 'page_view', count: uniq.length, orders: 0 },
        ...(orders ? [{ name: 'order_placed', count: 1, orders: 1 }] : []),
      ],
    },
  };
}

describe('filtered stats over a range longer than one read of days', () => {
  let t: TestApp;
  let query: StatsQuery;
  const visits = DAYS.flatMap((_, d) => Array.from({ length: 30 }, (_, i) => visitOf(d, i)));

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    const prefix = t.config.queuePrefix;
    // the closer's records, complete since before the first day
    await t.app.redis.set(recordsSinceKey(prefix), Date.parse(`${DAYS[0]}T00:00:00Z`) - 1);
    await writeVisitRecords(
      t.app.redis,
      prefix,
      visits.map((v, k) => ({ ...v, id: `${t.site.siteId}:${v.visitor}:${k}`, siteId: t.site.siteId })),
    );
    query = new StatsQuery({ models: t.app.models, redis: t.app.redis, prefix }, new Types.ObjectId(t.site.siteId));
  });
  afterAll(async () => {
    await t?.close();
  });

  const expected = (dim: string, filters: Filter[]) => {
    const out = new Map<string, Counts & { visitors: number }>();
    const seen = new Map<string, Set<string>>();
    for (const v of visits) {
      const dims = v.dims as unknown as Record<string, string>;
      const pass = filters.every((f) => {
        const has = f.dim === 'page' ? v.summary.pages.some((p) => p.page === f.value) : dims[f.dim] === f.value;
        return f.op === '==' ? has : !has;
      });
      if (!pass) continue;
      for (const row of rowsOfVisit(v.dims, v.summary)) {
        if (row.dim !== dim) continue;
        const e = out.get(row.value) ?? { ...zero(), visitors: 0 };
        addCounts(e, row.counts);
        const who = seen.get(row.value) ?? new Set();
        who.add(v.visitor);
        seen.set(row.value, who);
        e.visitors = who.size;
        out.set(row.value, e);
      }
    }
    return out;
  };
  const sorted = (m: Map<string, unknown>) => [...m].sort(([a], [b]) => a.localeCompare(b));

  it('makes every day’s columns and counts visitors returning across days once', async () => {
    const cases: Array<[string, Filter[]]> = [
      ['page', [{ dim: 'country', op: '==', value: 'DE' }]],
      ['country', [{ dim: 'page', op: '==', value: '/p/3' }]],
      [
        'all',
        [
          { dim: 'channel', op: '!=', value: 'Direct' },
          { dim: 'device', op: '==', value: 'mobile' },
        ],
      ],
      ['entryPage', [{ dim: 'channel', op: '!=', value: 'Email' }]],
    ];
    for (const [dim, filters] of cases) {
      const got = await query.rows(dim, DAYS[0]!, DAYS.at(-1)!, filters);
      expect(sorted(got), `${dim} ${JSON.stringify(filters)}`).toEqual(sorted(expected(dim, filters)));
    }
    // visitors came back on other days: a sum of days would count them more than once
    const all = expected('all', [])!.get('')!;
    expect(all.visitors).toBeLessThan(new Set(visits.map((v) => `${v.day} ${v.visitor}`)).size);
    for (const day of DAYS)
      expect(await t.app.redis.exists(columnsKey(t.config.queuePrefix, t.site.siteId, day))).toBe(1);
  });
});
