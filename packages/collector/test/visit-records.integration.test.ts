import { STATS_DIMENSIONS } from '@trackmate/schema';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Filter, StatsQuery } from '../src/analytics/stats-query.js';
import { makeOverDays, type RecordedDay, rollUpVisits } from '../src/analytics/visit-closer.js';
import { readColumns } from '../src/analytics/visit-columns.js';
import { columnsKey, recordsKey, recordsSinceKey } from '../src/analytics/visit-records.js';
import { addCounts, type Counts, NONE, rowsOfVisit, zero } from '../src/analytics/visit-summary.js';
import type { VisitDims, VisitDoc, VisitSummary } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

// 80 visits of 20 visitors over 2026-10-01 … 2026-10-06, each with pages, some with clicks or orders
const DAYS = ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06'];
const PAGES = ['/', '/mugs', '/mugs/blue', '/cart'];

type Stored = Pick<VisitDoc, 'day' | 'visitor' | 'dims' | 'summary'>;

/** What a filter keeps, written out: page and event filters keep the visits that viewed / sent it, others the visit's value. */
const keeps = (v: Stored, f: Filter) => {
  const s = v.summary as VisitSummary;
  const dims = v.dims as unknown as Record<string, string | null>;
  const has =
    f.dim === 'page'
      ? s.pages.some((p) => p.page === f.value)
      : f.dim === 'event'
        ? s.names.some((n) => n.name === f.value)
        : f.dim === 'exitPage'
          ? (s.exitPage ?? NONE) === f.value
          : (dims[f.dim] ?? NONE) === f.value;
  return f.op === '==' ? has : !has;
};

describe('filtered stats read the closed visits’ records in Redis, not the visits collection', () => {
  let t: TestApp;
  let query: StatsQuery;
  let stored: Stored[] = [];

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    const siteId = new Types.ObjectId(t.site.siteId);
    const visits: VisitDoc[] = [];
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < 80; i++) {
      const visitor = `rv-${(i * 7) % 20}`;
      const day = DAYS[i % DAYS.length]!;
      const start = Date.parse(`${day}T08:00:00Z`) + i * 600_000;
      const id = `${t.site.siteId}:${visitor}:${start}`;
      const dims: VisitDims = {
        channel: ['Direct', 'Email', 'Organic Search'][i % 3]!,
        referrer: i % 3 === 2 ? 'www.google.com' : null,
        utmSource: i % 3 === 1 ? 'newsletter' : null,
        utmMedium: null,
        utmCampaign: null,
        utmTerm: null,
        utmContent: null,
        country: ['US', 'DE', null][i % 4 === 3 ? 2 : i % 2]!,
        region: null,
        browser: i % 5 < 3 ? 'Chrome' : 'Firefox',
        os: 'Windows',
        device: i % 4 === 0 ? 'mobile' : 'desktop',
        bot: i % 17 === 16,
      };
      const views = 1 + (i % 4);
      for (let k = 0; k < views; k++)
        events.push({
          siteId,
          visitId: id,
          name: 'page_view',
          timestamp: new Date(start + k * 15_000),
          properties: { url: `https://shop.test${PAGES[(i + k * 3) % PAGES.length]}` },
          context: {},
          sentBy: 'client',
        });
      if (i % 6 === 1)
        events.push({
          siteId,
          visitId: id,
          name: 'order_placed',
          timestamp: new Date(start + views * 15_000),
          properties: { orderTotal: 12.5 + i, currency: i % 2 ? 'EUR' : 'USD' },
          context: {},
          sentBy: 'server',
        });
      visits.push({
        _id: id,
        siteId,
        visitor,
        day,
        start: new Date(start),
        end: new Date(start + 60_000),
        touchedAt: new Date(),
        dims,
        closed: false,
      });
    }
    await t.db.collection('events').insertMany(events);
    for (let k = 0; k < visits.length; k += 30)
      await rollUpVisits(t.app.models, t.app.redis, t.config.queuePrefix, visits.slice(k, k + 30));
    stored = await t.db.collection('visits').find<Stored>({ closed: true }).toArray();
    expect(stored.length).toBe(80);
    query = new StatsQuery({ models: t.app.models, redis: t.app.redis, prefix: t.config.queuePrefix }, siteId);
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  });

  /** Every stored visit (bots left out) that passes the filters, split into rows, visitors counted exactly. */
  const scan = (dim: string, filters: Filter[], by: 'value' | 'day') => {
    const out = new Map<string, Counts & { visitors: number }>();
    const seen = new Map<string, Set<string>>();
    for (const v of stored) {
      if (v.dims.bot || !filters.every((f) => keeps(v, f))) continue;
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
  const FILTERS: Filter[][] = [
    [{ dim: 'page', op: '==', value: '/mugs' }],
    [{ dim: 'channel', op: '!=', value: 'Direct' }],
    [
      { dim: 'country', op: '==', value: 'DE' },
      { dim: 'device', op: '==', value: 'desktop' },
    ],
    [
      { dim: 'page', op: '!=', value: '/cart' },
      { dim: 'browser', op: '==', value: 'Chrome' },
    ],
    [{ dim: 'country', op: '==', value: NONE }],
    [{ dim: 'event', op: '==', value: 'order_placed' }],
    [
      { dim: 'exitPage', op: '!=', value: '/cart' },
      { dim: 'referrer', op: '!=', value: NONE },
    ],
  ];
  /** Every dimension's rows (and the totals by day) under each set of filters, against the scan. */
  const expectScan = async () => {
    for (const filters of FILTERS) {
      for (const dim of ['all', ...STATS_DIMENSIONS]) {
        const label = `${dim} ${JSON.stringify(filters)}`;
        const expected = scan(dim, filters, 'value');
        if (dim === 'all') expect(expected.get('')?.visits ?? 0, label).toBeGreaterThan(0);
        expect(sorted(await query.rows(dim, DAYS[0]!, DAYS.at(-1)!, filters)), label).toEqual(sorted(expected));
      }
      expect(sorted(await query.rows('all', DAYS[0]!, DAYS.at(-1)!, filters, 'day'))).toEqual(
        sorted(scan('all', filters, 'day')),
      );
    }
  };

  it('gives the figures of the stored visits, from the records alone once they are complete', async () => {
    await expectScan();
    // the records are complete now (filled once for the days closed before any query): `visits` is not read again
    await t.db.collection('visits').deleteMany({});
    await expectScan();
    const days = await t.app.redis.keys(recordsKey(t.config.queuePrefix, t.site.siteId, '*'));
    expect(days.sort()).toEqual(DAYS.map((d) => recordsKey(t.config.queuePrefix, t.site.siteId, d)));
    await t.db.collection('visits').insertMany(stored as VisitDoc[]);
  });

  it('pages a filtered breakdown in the order of the full sort, visitors counted for the page’s rows and their ties', async () => {
    let tiedOnKey = 0;
    for (const filters of FILTERS) {
      for (const dim of ['page', 'entryPage', 'country', 'channel', 'browser', 'event']) {
        for (const key of ['pageviews', 'visits'] as const) {
          const all = [...scan(dim, filters, 'value')].sort(
            (a, b) => b[1][key] - a[1][key] || b[1].visitors - a[1].visitors || a[0].localeCompare(b[0]),
          );
          tiedOnKey += all.filter(([, c], i) => i > 0 && all[i - 1]![1][key] === c[key]).length;
          for (const [start, limit] of [
            [0, 1],
            [1, 1],
            [0, 2],
            [2, 2],
            [1, 3],
            [0, 50],
          ] as const) {
            const label = `${dim} by ${key} ${JSON.stringify(filters)} from ${start}, ${limit}`;
            const page = await query.breakdown(dim, DAYS[0]!, DAYS.at(-1)!, filters, key, start, limit);
            expect(page.rows, label).toEqual(all.slice(start, start + limit));
            expect(page.hasMore, label).toBe(all.length > start + limit);
          }
        }
      }
    }
    // rows tied on the sort key are ordered by their visitors, which only the page's rows and their ties have
    expect(tiedOnKey).toBeGreaterThan(10);
  }, 120_000);

  it('takes the days that began after records were first kept as complete, without reading the visits collection', async () => {
    const since = recordsSinceKey(t.config.queuePrefix);
    const was = await t.app.redis.get(since);
    expect(Number(was)).toBeGreaterThan(Date.parse(`${DAYS.at(-1)}T00:00:00Z`)); // set by the closer's first write
    await t.app.redis.set(since, Date.parse(`${DAYS[0]}T00:00:00Z`));
    for (const day of DAYS) await t.app.redis.hdel(recordsKey(t.config.queuePrefix, t.site.siteId, day), '~all');
    await t.db.collection('visits').deleteMany({});
    await expectScan();
    for (const day of DAYS)
      expect(await t.app.redis.hget(recordsKey(t.config.queuePrefix, t.site.siteId, day), '~all')).toBeNull();
    await t.app.redis.set(since, was!);
    await t.db.collection('visits').insertMany(stored as VisitDoc[]);
  });

  it('counts a visit closed after its day’s columns were made (in Redis and in this process)', async () => {
    await expectScan(); // the columns are made and kept
    const siteId = new Types.ObjectId(t.site.siteId);
    const start = Date.parse(`${DAYS[1]}T20:00:00Z`);
    const id = `${t.site.siteId}:rv-late:${start}`;
    await t.db.collection('events').insertOne({
      siteId,
      visitId: id,
      name: 'page_view',
      timestamp: new Date(start),
      properties: { url: 'https://shop.test/mugs' },
      context: {},
      sentBy: 'client',
    });
    const dims = { ...(stored.find((v) => !v.dims.bot)!.dims as VisitDims), country: 'DE', device: 'desktop' };
    await rollUpVisits(t.app.models, t.app.redis, t.config.queuePrefix, [
      {
        _id: id,
        siteId,
        visitor: 'rv-late',
        day: DAYS[1]!,
        start: new Date(start),
        end: new Date(start),
        touchedAt: new Date(),
        dims,
        closed: false,
      },
    ]);
    const before = stored.length;
    stored = await t.db.collection('visits').find<Stored>({ closed: true }).toArray();
    expect(stored.length).toBe(before + 1);
    await expectScan();
  });

  it('reads a day whose records Redis lost from the visits collection once, and records it again', async () => {
    const lost = recordsKey(t.config.queuePrefix, t.site.siteId, DAYS[2]!);
    const visits = (await t.app.redis.hkeys(lost)).filter((k) => !k.startsWith('~')).length;
    expect(visits).toBeGreaterThan(0);
    await t.app.redis.unlink(lost);
    await expectScan();
    expect(await t.app.redis.hlen(lost)).toBe(visits + 2); // its visits, the mark and its columns' tag
    expect(await t.app.redis.hget(lost, '~all')).toBe('1');
  });

  it('makes columns of an earlier format again from the records (after an upgrade that changed them)', async () => {
    await expectScan();
    // each day's columns replaced by bytes of the earlier format (rows of integers, no format number), with a tag
    // of their own, as an earlier version left them
    for (const day of DAYS) {
      const header = Buffer.from(JSON.stringify({ v: 'old', n: 0, s: [''], c: [], p: 0, e: 0 }));
      const old = Buffer.alloc(8 + header.length);
      old.writeUInt32LE(header.length, 0);
      header.copy(old, 4);
      const records = recordsKey(t.config.queuePrefix, t.site.siteId, day);
      const tag = (await t.app.redis.hget(records, '~v'))!;
      await t.app.redis.set(columnsKey(t.config.queuePrefix, t.site.siteId, day), old);
      await t.app.redis.hset(records, '~v', `${tag.split(':')[0]}:old`);
    }
    await expectScan();
    for (const day of DAYS) {
      const buf = await t.app.redis.getBuffer(columnsKey(t.config.queuePrefix, t.site.siteId, day));
      const cols = readColumns(buf!, day);
      expect(cols?.version).toBe(await t.app.redis.hget(recordsKey(t.config.queuePrefix, t.site.siteId, day), '~v'));
    }
  });

  it('makes a day’s columns once the day is over, so a filtered query reads them as the closer made them', async () => {
    const siteId = new Types.ObjectId(t.site.siteId);
    const day = '2026-10-09';
    const dims = stored.find((v) => !v.dims.bot)!.dims as VisitDims;
    const visits: VisitDoc[] = [];
    for (let i = 0; i < 3; i++) {
      // the last visit begins a minute before the day's end
      const start = Date.parse(`${day}T${i < 2 ? '10' : '23'}:${i < 2 ? '00' : '59'}:0${i}Z`);
      const id = `${t.site.siteId}:rv-over-${i}:${start}`;
      await t.db.collection('events').insertOne({
        siteId,
        visitId: id,
        name: 'page_view',
        timestamp: new Date(start),
        properties: { url: 'https://shop.test/mugs' },
        context: {},
        sentBy: 'client',
      });
      visits.push({
        _id: id,
        siteId,
        visitor: `rv-over-${i}`,
        day,
        start: new Date(start),
        end: new Date(start),
        touchedAt: new Date(),
        dims: { ...dims, country: 'DE' },
        closed: false,
      });
    }
    const recorded = new Map<string, RecordedDay>();
    for (const d of await rollUpVisits(t.app.models, t.app.redis, t.config.queuePrefix, visits))
      recorded.set(`${d.siteId}:${d.day}`, d);
    expect([...recorded.values()]).toEqual([{ siteId: t.site.siteId, day, timezone: 'UTC' }]);
    const columns = columnsKey(t.config.queuePrefix, t.site.siteId, day);
    const records = recordsKey(t.config.queuePrefix, t.site.siteId, day);
    const end = Date.parse('2026-10-10T00:00:00Z');
    // a visit that began before the day's end may still be open: nothing made
    expect(await makeOverDays(t.app.redis, t.config.queuePrefix, recorded, end + 10 * 60_000)).toBe(0);
    expect(await t.app.redis.exists(columns)).toBe(0);
    expect(recorded.size).toBe(1);
    expect(await makeOverDays(t.app.redis, t.config.queuePrefix, recorded, end + 32 * 60_000)).toBe(1);
    expect(recorded.size).toBe(0);
    const tag = await t.app.redis.hget(records, '~v');
    expect(tag?.split(':')[0]).toBe('3');
    expect(readColumns((await t.app.redis.getBuffer(columns))!, day)?.n).toBe(3);
    // records kept since before the day (as for every day the closer records): the day is complete
    const since = recordsSinceKey(t.config.queuePrefix);
    const was = await t.app.redis.get(since);
    await t.app.redis.set(since, Date.parse(`${day}T00:00:00Z`));
    const rows = await query.rows('all', day, day, [
      { dim: 'country', op: '==', value: 'DE' },
      { dim: 'page', op: '==', value: '/mugs' },
    ]);
    expect(rows.get('')).toMatchObject({ visits: 3, visitors: 3, pageviews: 3 });
    // the query read the closer's columns: it did not make them again
    expect(await t.app.redis.hget(records, '~v')).toBe(tag);
    await t.app.redis.set(since, was!);
  });
});
