import { STATS_DIMENSIONS, type StatsDimension } from '@trackmate/schema';
import type { EventDoc, VisitDims, VisitSummary } from '../models/index.js';
import { sentByOf } from '../models/index.js';
import { currencyOf, refundOf, revenueOf } from '../rollups/index.js';
import { urlOf } from './enrich.js';

/** Events that show a visitor doing something: a visit with one of them is no bounce. */
const INTERACTIVE = new Set(['button_click', 'form_submit', 'add_to_cart', 'order_product', 'order_placed']);
const ORDER_EVENTS = new Set(['order_placed', 'order_product']);
const BOUNCE_MS = 10_000;
const round2 = (n: number) => Math.round(n * 100) / 100;

export type SummaryEvent = Pick<EventDoc, 'name' | 'timestamp' | 'properties' | 'context' | 'sentBy'> & {
  source?: unknown;
};

/** The path of a page URL (`/mugs/blue`), or null. */
export function pathOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).pathname || '/';
  } catch {
    return null;
  }
}

/**
 * What a visit's summary needs of one event: time (ms), name, page path (page views only), sent by a backend
 * (1) or a browser (0), and for a backend's order or refund its amount (refunds negative) and currency. Kept in
 * Redis for each open visit (visit-events.ts), so that closing a visit or counting it live reads no events.
 */
export type VisitEventRecord = [
  t: number,
  name: string,
  path: string | null,
  server: 0 | 1,
  amount: number,
  currency: string | null,
];

/** Page paths by URL, memoised (a site's page views repeat a few thousand URLs). */
const paths = new Map<string, string>();
function pagePathOf(url: string | undefined): string {
  if (url === undefined) return '(unknown)';
  let path = paths.get(url);
  if (path === undefined) {
    path = pathOf(url) ?? '(unknown)';
    if (paths.size >= 20_000) paths.clear();
    paths.set(url, path);
  }
  return path;
}

/** An event's VisitEventRecord. */
export function visitEventRecord(e: SummaryEvent): VisitEventRecord {
  const server = sentByOf(e) === 'server';
  const path = e.name === 'page_view' ? pagePathOf(urlOf(e)) : null;
  const props = e.properties ?? {};
  const isOrder = server && ORDER_EVENTS.has(e.name);
  if (!isOrder && !(server && e.name === 'order_refunded'))
    return [e.timestamp.getTime(), e.name, path, server ? 1 : 0, 0, null];
  const amount = isOrder ? revenueOf(props) : -refundOf(props);
  return [e.timestamp.getTime(), e.name, path, 1, amount, currencyOf(props)];
}

/**
 * What one visit adds up to, from its events: page views, entry and exit page, duration (last event minus
 * first), bounce (one page view, under 10 seconds, nothing interactive), orders and revenue (a backend's orders
 * only, refunds taken off).
 */
export function summarizeVisit(events: SummaryEvent[]): VisitSummary {
  return summarizeRecords(events.map(visitEventRecord));
}

/** summarizeVisit from the events' records. */
export function summarizeRecords(records: VisitEventRecord[]): VisitSummary {
  const sorted = [...records].sort((a, b) => a[0] - b[0]);
  const pages = new Map<string, number>();
  const names = new Map<string, { count: number; orders: number }>();
  let pageviews = 0;
  let entryPage: string | null = null;
  let exitPage: string | null = null;
  let interactive = false;
  let client = false;
  let orders = 0;
  let revenue = 0;
  const byCurrency: Record<string, number> = {};
  for (const [, name, path, server, amount, currency] of sorted) {
    if (!server) client = true;
    const n = names.get(name) ?? { count: 0, orders: 0 };
    n.count++;
    names.set(name, n);
    if (INTERACTIVE.has(name)) interactive = true;
    if (name === 'page_view') {
      pageviews++;
      const page = path ?? '(unknown)';
      pages.set(page, (pages.get(page) ?? 0) + 1);
      entryPage ??= page;
      exitPage = page;
    }
    const isOrder = server === 1 && ORDER_EVENTS.has(name);
    if (isOrder || (server === 1 && name === 'order_refunded')) {
      if (isOrder) {
        orders++;
        n.orders++;
      }
      if (currency) byCurrency[currency] = round2((byCurrency[currency] ?? 0) + amount);
      else revenue = round2(revenue + amount);
    }
  }
  const first = sorted[0]?.[0] ?? 0;
  const last = sorted.at(-1)?.[0] ?? 0;
  const durationMs = last - first;
  return {
    client,
    pageviews,
    events: sorted.length,
    bounce: pageviews === 1 && durationMs < BOUNCE_MS && !interactive ? 1 : 0,
    duration: Math.round(durationMs / 1000),
    entryPage,
    exitPage,
    orders,
    revenue,
    revenueByCurrency: byCurrency,
    pages: [...pages].map(([page, views]) => ({ page, views })),
    names: [...names].map(([name, c]) => ({ name, count: c.count, orders: c.orders })),
  };
}

/** A visit's figures in one roll-up row. */
export interface Counts {
  visits: number;
  bounces: number;
  duration: number;
  pageviews: number;
  events: number;
  orders: number;
  revenue: number;
  revenueByCurrency: Record<string, number>;
}

export const NONE = '(none)';

/** The stats dimensions that are not a visit's own (its pages, entry and exit pages and event names). */
const OF_PAGES_AND_EVENTS = ['page', 'entryPage', 'exitPage', 'event'] as const;
type VisitDim = Exclude<StatsDimension, (typeof OF_PAGES_AND_EVENTS)[number]>;

/** The visit-level dimensions rolled up (page and event rows come from the summary's lists). */
export const VISIT_DIMS: readonly VisitDim[] = STATS_DIMENSIONS.filter(
  (d): d is VisitDim => !(OF_PAGES_AND_EVENTS as readonly string[]).includes(d),
);

/** One visit's contribution to the roll-up rows: `all` (the totals), each dimension's value, pages and events. */
export function rowsOfVisit(dims: VisitDims, s: VisitSummary): Array<{ dim: string; value: string; counts: Counts }> {
  if (dims.bot) {
    const counts = { ...zero(), visits: 1, events: s.events };
    return [{ dim: 'bots', value: '', counts }];
  }
  const visits = s.client ? 1 : 0;
  const whole: Counts = {
    visits,
    bounces: s.bounce,
    duration: s.duration,
    pageviews: s.pageviews,
    events: s.events,
    orders: s.orders,
    revenue: s.revenue,
    revenueByCurrency: s.revenueByCurrency,
  };
  const rows = [{ dim: 'all', value: '', counts: whole }];
  for (const d of VISIT_DIMS) rows.push({ dim: d, value: dims[d] ?? NONE, counts: whole });
  if (s.client) {
    rows.push({ dim: 'entryPage', value: s.entryPage ?? NONE, counts: whole });
    rows.push({ dim: 'exitPage', value: s.exitPage ?? NONE, counts: whole });
  }
  for (const p of s.pages) {
    rows.push({
      dim: 'page',
      value: p.page,
      counts: { ...zero(), visits, pageviews: p.views, bounces: s.bounce },
    });
  }
  for (const n of s.names) {
    const isOrders = n.orders > 0;
    rows.push({
      dim: 'event',
      value: n.name,
      counts: {
        ...zero(),
        visits,
        events: n.count,
        orders: n.orders,
        ...(isOrders ? { revenue: s.revenue, revenueByCurrency: s.revenueByCurrency } : {}),
      },
    });
  }
  return rows;
}

export const zero = (): Counts => ({
  visits: 0,
  bounces: 0,
  duration: 0,
  pageviews: 0,
  events: 0,
  orders: 0,
  revenue: 0,
  revenueByCurrency: {},
});

/** Adds `b` into `a`. */
export function addCounts(a: Counts, b: Counts): Counts {
  a.visits += b.visits;
  a.bounces += b.bounces;
  a.duration += b.duration;
  a.pageviews += b.pageviews;
  a.events += b.events;
  a.orders += b.orders;
  a.revenue = round2(a.revenue + b.revenue);
  for (const [c, n] of Object.entries(b.revenueByCurrency ?? {}))
    a.revenueByCurrency[c] = round2((a.revenueByCurrency[c] ?? 0) + n);
  return a;
}
