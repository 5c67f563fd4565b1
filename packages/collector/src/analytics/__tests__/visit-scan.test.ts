import { STATS_DIMENSIONS } from '@trackmate/schema';
import { describe, expect, it } from 'vitest';
import type { VisitDims, VisitSummary } from '../../models/index.js';
import { partsKept } from '../day-parts.js';
import { buildColumns, readColumns } from '../visit-columns.js';
import { type ColumnFilter, numberDays, type ScanOptions, ScanRows, scanDay } from '../visit-scan.js';
import { addCounts, type Counts, NONE, rowsOfVisit, zero } from '../visit-summary.js';

interface Visit {
  day: string;
  visitor: string;
  dims: VisitDims;
  summary: VisitSummary;
}

/** A small generator (xorshift), so the visits are the same on every run. */
function random(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
}

const DAYS = ['2026-10-01', '2026-10-02', '2026-10-03'];

/** 600 visits of 90 visitors over 3 days, 50 pages (more rows than a query keeps bitsets for), some with orders. */
function visits(): Visit[] {
  const r = random(19);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: 600 }, (_, i) => {
    const pages = [...new Set(Array.from({ length: 1 + Math.floor(r() * 4) }, () => `/p/${Math.floor(r() * 50)}`))];
    const client = r() < 0.95;
    const orders = r() < 0.1 ? 1 + Math.floor(r() * 2) : 0;
    const currency = pick(['EUR', 'USD']);
    const revenue = orders ? Math.round(r() * 10_000) / 100 : 0;
    const names = [
      { name: 'page_view', count: pages.length, orders: 0 },
      ...(r() < 0.4 ? [{ name: 'button_click', count: 1 + Math.floor(r() * 3), orders: 0 }] : []),
      ...(orders ? [{ name: 'order_placed', count: orders, orders }] : []),
    ];
    return {
      day: DAYS[i % DAYS.length]!,
      visitor: `sv-${Math.floor(r() * 90)}`,
      dims: {
        channel: pick(['Direct', 'Email', 'Organic Search']),
        referrer: pick([null, 'www.google.com']),
        utmSource: pick([null, null, 'newsletter']),
        utmMedium: null,
        utmCampaign: null,
        utmTerm: null,
        utmContent: null,
        country: pick(['US', 'DE', null]),
        region: null,
        browser: pick(['Chrome', 'Firefox']),
        os: 'Windows',
        device: pick(['mobile', 'desktop']),
        bot: false,
      },
      summary: {
        client,
        pageviews: client ? pages.length : 0,
        events: pages.length + names.slice(1).reduce((n, e) => n + e.count, 0),
        bounce: client && pages.length === 1 && r() < 0.5 ? 1 : 0,
        duration: Math.floor(r() * 70_000),
        entryPage: client ? pages[0]! : null,
        exitPage: client ? pages.at(-1)! : null,
        orders,
        revenue,
        revenueByCurrency: orders ? { [currency]: revenue } : {},
        pages: client ? pages.map((page) => ({ page, views: 1 + Math.floor(r() * 2) })) : [],
        names,
      },
    };
  });
}

/** What a filter keeps, written out. */
function keeps(v: Visit, f: ColumnFilter): boolean {
  const s = v.summary;
  const dims = v.dims as unknown as Record<string, string | null>;
  const has =
    f.dim === 'page'
      ? s.pages.some((p) => p.page === f.value)
      : f.dim === 'event'
        ? s.names.some((n) => n.name === f.value)
        : f.dim === 'entryPage'
          ? (s.entryPage ?? NONE) === f.value
          : f.dim === 'exitPage'
            ? (s.exitPage ?? NONE) === f.value
            : (dims[f.dim] ?? NONE) === f.value;
  return f.op === '==' ? has : !has;
}

/** Each visit split by rowsOfVisit, visitors in sets: the figures the columns must give. */
function expected(all: Visit[], dim: string, filters: ColumnFilter[], by: 'value' | 'day') {
  const out = new Map<string, Counts & { visitors: number }>();
  const seen = new Map<string, Set<string>>();
  for (const v of all) {
    if (!filters.every((f) => keeps(v, f))) continue;
    for (const row of rowsOfVisit(v.dims, v.summary)) {
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
}

const FILTERS: ColumnFilter[][] = [
  [],
  [{ dim: 'page', op: '==', value: '/p/3' }],
  [{ dim: 'page', op: '!=', value: '/p/3' }],
  [
    { dim: 'channel', op: '!=', value: 'Direct' },
    { dim: 'country', op: '==', value: 'DE' },
  ],
  [{ dim: 'country', op: '==', value: NONE }],
  [{ dim: 'utmMedium', op: '==', value: NONE }],
  [{ dim: 'utmMedium', op: '!=', value: NONE }],
  [{ dim: 'event', op: '==', value: 'order_placed' }],
  [{ dim: 'entryPage', op: '!=', value: '/p/1' }],
  [{ dim: 'page', op: '==', value: '/not-viewed' }],
];

const sorted = (m: Map<string, unknown>) => [...m].sort(([a], [b]) => a.localeCompare(b));

describe('filtered stats from day columns', () => {
  const all = visits();
  const days = DAYS.map((day) => {
    const buf = buildColumns(
      all.filter((v) => v.day === day),
      `${day}:test`,
    );
    return readColumns(buf, day)!;
  });

  it('gives every dimension’s rows under each filter exactly as the visits split one by one', () => {
    for (const filters of FILTERS) {
      for (const dim of ['all', ...STATS_DIMENSIONS]) {
        for (const by of ['value', 'day'] as const) {
          if (by === 'day' && dim !== 'all') continue;
          // bitsets for the first 32 rows only (the floor), pairs for the rest: both ways of counting visitors
          for (const bitsetBytes of [undefined, 0]) {
            const { numbers, visitors } = numberDays(days);
            const out = new ScanRows(numbers, bitsetBytes);
            for (const [i, cols] of days.entries()) scanDay(cols, visitors[i]!, filters, dim, by, out);
            const label = `${dim} by ${by} ${JSON.stringify(filters)} bitsets ${bitsetBytes}`;
            expect(sorted(out.result()), label).toEqual(sorted(expected(all, dim, filters, by)));
          }
        }
      }
    }
    // the page breakdown has more rows than the floor of bitset rows
    expect(expected(all, 'page', [], 'value').size).toBeGreaterThan(32);
  });

  it('counts a visitor first numbered after the query began (an open visit) once with the days’ visits', () => {
    const { numbers, visitors } = numberDays(days);
    const out = new ScanRows(numbers, 0);
    for (const [i, cols] of days.entries()) scanDay(cols, visitors[i]!, [], 'page', 'value', out);
    const before = out.result();
    const page = '/p/7';
    const known = all.find((v) => v.summary.client && v.summary.pages.some((p) => p.page === page))!.visitor;
    const row = out.row(page);
    out.add(row, { ...zero(), visits: 2, pageviews: 3 });
    out.addVisitor(row, numbers.of(known));
    out.addVisitor(row, numbers.of('sv-new-1'));
    out.addVisitor(row, numbers.of('sv-new-1'));
    // more visitors than the bitsets were made for
    for (let i = 0; i < 5_000; i++) numbers.of(`sv-more-${i}`);
    const late = out.row('/late');
    out.addVisitor(late, numbers.of('sv-more-4999'));
    const after = out.result();
    expect(after.get(page)).toEqual({
      ...before.get(page)!,
      visits: before.get(page)!.visits + 2,
      pageviews: before.get(page)!.pageviews + 3,
      visitors: before.get(page)!.visitors + 1,
    });
    expect(after.get('/late')?.visitors).toBe(1);
  });

  it('answers a query asked again from the days’ kept parts with the same rows, for every shape of query', () => {
    const filters: ColumnFilter[] = [{ dim: 'channel', op: '!=', value: 'Direct' }];
    const shapes: Array<[string, 'value' | 'day', ScanOptions | undefined]> = [
      ['all', 'value', undefined],
      ['all', 'day', undefined],
      ['page', 'value', { visitors: false }],
      ['page', 'value', { only: new Set(['/p/1', '/p/2', NONE]) }],
      ['country', 'value', undefined],
      ['event', 'value', undefined],
    ];
    const run = (dim: string, by: 'value' | 'day', options?: ScanOptions) => {
      const { numbers, visitors } = numberDays(days);
      const out = new ScanRows(numbers, undefined, options);
      for (const [i, cols] of days.entries()) scanDay(cols, visitors[i]!, filters, dim, by, out);
      return sorted(out.result());
    };
    for (const [dim, by, options] of shapes) {
      // asked once: scanned; twice: scanned into a part a day, kept; then: from the parts, none made again
      const before = partsKept().made;
      const first = run(dim, by, options);
      expect(partsKept().made).toBe(before);
      expect(run(dim, by, options), `${dim} by ${by}`).toEqual(first);
      expect(partsKept().made).toBe(before + days.length);
      const kept = partsKept();
      expect(run(dim, by, options), `${dim} by ${by}`).toEqual(first);
      expect(partsKept()).toEqual(kept);
      const want = sorted(expected(all, dim, filters, by)).filter(([k]) => !options?.only || options.only.has(k));
      expect(first).toEqual(options?.visitors === false ? want.map(([k, c]) => [k, { ...c, visitors: 0 }]) : want);
    }
  });

  it('reads columns of another format as none, so they are made again from the records', () => {
    const header = Buffer.from(JSON.stringify({ v: '3:abc', n: 0, s: [''], c: [], p: 0, e: 0 }));
    const old = Buffer.alloc(8 + header.length);
    old.writeUInt32LE(header.length, 0);
    header.copy(old, 4);
    expect(readColumns(old, DAYS[0]!)).toBeNull();
  });
});
