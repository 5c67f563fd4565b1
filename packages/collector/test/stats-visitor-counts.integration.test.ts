import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToBlocks, confirmBlocks } from '../src/analytics/stats-blocks.js';
import { addToSketches } from '../src/analytics/visit-closer.js';
import { addCounts, rowsOfVisit, summarizeVisit, zero } from '../src/analytics/visit-summary.js';
import type { VisitDims } from '../src/models/index.js';
import { adminCall } from './helpers/admin.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

// A breakdown keeps its rows' visitor counts while the sums it read are unchanged (visitor-counts.ts): a visit
// closed into the range afterwards must be counted by the next call.
const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
const dims: VisitDims = {
  channel: 'Direct',
  referrer: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null,
  country: 'DE',
  region: null,
  browser: 'Firefox',
  os: 'Linux',
  device: 'desktop',
  bot: false,
};

describe('breakdown visitor counts kept between calls', () => {
  let t: TestApp;
  let closed = 0;
  /** Closes visits as the visit closer does: roll-up rows to the sketches first, then to the blocks. */
  const close = async (visits: Array<{ visitor: string; pages: string[] }>) => {
    const rows = new Map<string, { dim: string; value: string; counts: ReturnType<typeof zero>; visitors: string[] }>();
    const start = Date.parse(`${day}T10:00:00Z`);
    for (const v of visits) {
      const summary = summarizeVisit(
        v.pages.map((page, i) => ({
          name: 'page_view',
          timestamp: new Date(start + i * 20_000),
          properties: { url: `https://shop.test${page}` },
          sentBy: 'client' as const,
        })),
      );
      for (const row of rowsOfVisit(dims, summary)) {
        const key = `${row.dim}\u0000${row.value}`;
        const r = rows.get(key) ?? { dim: row.dim, value: row.value, counts: zero(), visitors: [] };
        addCounts(r.counts, row.counts);
        r.visitors.push(v.visitor);
        rows.set(key, r);
      }
    }
    const p = t.app.redis.pipeline();
    for (const r of rows.values())
      addToSketches(p, t.config.queuePrefix, { siteId: t.site.siteId, day, dim: r.dim, value: r.value }, r.visitors);
    await p.exec();
    const visitKey = `test:${closed++}`;
    const blocks = await addToBlocks(
      t.app.models,
      t.app.redis,
      t.config.queuePrefix,
      [...rows.values()].map((r) => ({
        siteId: t.site.siteId,
        day,
        dim: r.dim,
        value: r.value,
        byVisit: new Map([[visitKey, r.counts]]),
      })),
    );
    await confirmBlocks(t.app.models, blocks, [visitKey]);
  };
  const pages = async () => {
    const res = await adminCall(
      t.url,
      t.site.secretKey,
      'GET',
      `/api/stats/breakdown?from=${day}&to=${day}&dimension=page&limit=3`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return Object.fromEntries(
      res.body.rows.map((r: { value: string; visitors: number; visits: number }) => [r.value, [r.visitors, r.visits]]),
    );
  };

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    // 80 visitors on a page each and on the home page: a day of pages long enough to be kept parsed
    await close(Array.from({ length: 80 }, (_, i) => ({ visitor: `kv-${i}`, pages: ['/', `/products/item-${i}`] })));
  });
  afterAll(() => t?.close());

  it('counts a visit closed into the range after the first call, on the next call', async () => {
    const first = await pages();
    expect(first['/']).toEqual([80, 80]);
    expect(await pages()).toEqual(first);
    await close([{ visitor: 'kv-late', pages: ['/', '/products/item-1'] }]);
    const after = await pages();
    expect(after['/']).toEqual([81, 81]);
    expect(after['/products/item-1']).toEqual([2, 2]);
    // a returning visitor adds a visit, not a visitor
    await close([{ visitor: 'kv-late', pages: ['/'] }]);
    expect((await pages())['/']).toEqual([81, 82]);
  });
});
