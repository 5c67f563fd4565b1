import {
  ATTRIBUTION_DIMENSIONS,
  type AttributionDimension,
  AttributionResult,
  type AttributionRow,
} from '@trackmate/schema';
import { Type } from 'typebox';
import { dayStartMs, rangeOf } from '../analytics/index.js';
import { errorReplies, type Routes, siteIdOf } from '../route-kit.js';
import { siteRepository } from '../sites/index.js';
import { attributeOrders, type Credit, ordersBetween, returningBuyers, type Touch } from './attribute-orders.js';

const DAY_MS = 86_400_000;
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: "Site-local day (the site's time zone)" });
const round2 = (n: number) => Math.round(n * 100) / 100;

interface Sum {
  orders: number;
  buyers: Set<string>;
  revenue: Map<string, number>;
  count: Map<string, number>;
}
const emptySum = (): Sum => ({ orders: 0, buyers: new Set(), revenue: new Map(), count: new Map() });
function add(s: Sum, c: Credit) {
  s.orders++;
  s.buyers.add(c.order.buyer);
  s.revenue.set(c.order.currency, (s.revenue.get(c.order.currency) ?? 0) + c.order.revenue);
  s.count.set(c.order.currency, (s.count.get(c.order.currency) ?? 0) + 1);
}
const money = (s: Sum) => ({
  revenueByCurrency: Object.fromEntries([...s.revenue].map(([k, v]) => [k, round2(v)])),
  aovByCurrency: Object.fromEntries([...s.revenue].map(([k, v]) => [k, round2(v / s.count.get(k)!)])),
});

/** Rows of one dimension for one model (first or last touch), by revenue of orders, then orders. */
export function rowsOf(
  credits: Credit[],
  pick: (c: Credit) => Touch | null,
  dimension: AttributionDimension,
): AttributionRow[] {
  const sums = new Map<string, Sum>();
  for (const c of credits) {
    const t = pick(c);
    const value = t ? t[dimension] : '(none)';
    const s = sums.get(value) ?? emptySum();
    add(s, c);
    sums.set(value, s);
  }
  const total = (s: Sum) => [...s.revenue.values()].reduce((a, b) => a + b, 0);
  return [...sums]
    .sort(([a, x], [b, y]) => y.orders - x.orders || total(y) - total(x) || a.localeCompare(b))
    .map(([value, s]) => ({ value, orders: s.orders, buyers: s.buyers.size, ...money(s) }));
}

/**
 * `GET /api/stats/attribution`: the site's server orders of a range, each joined through its profile to the
 * buyer's visitor ids and credited to the first touch and the last non-direct touch within the site's lookback
 * (docs/analytics.md, Revenue attribution).
 */
const attributionRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireStatsKey);
  const sites = siteRepository(app.models);

  app.get(
    '/api/stats/attribution',
    {
      schema: {
        tags: ['stats'],
        security: [{ secretKey: [] }],
        summary: 'Orders, buyers and revenue per source, channel or campaign, by first and last non-direct touch',
        querystring: Type.Object({
          from: Type.Optional(Day),
          to: Type.Optional(Day),
          dimension: Type.Optional(
            Type.Union(
              ATTRIBUTION_DIMENSIONS.map((d) => Type.Literal(d)),
              { description: 'What the rows are: source (default), channel or campaign (utm_campaign)' },
            ),
          ),
        }),
        response: { 200: AttributionResult, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const siteId = siteIdOf(request);
      const { timezone, attributionLookbackDays: lookbackDays } = await sites.settings(siteId);
      const range = rangeOf(request.query, timezone);
      const dimension = request.query.dimension ?? 'source';
      const from = new Date(dayStartMs(range.from, timezone));
      const next = new Date(Date.parse(`${range.to}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
      const orders = await ordersBetween(app.models, siteId, from, new Date(dayStartMs(next, timezone)));
      const credits = await attributeOrders(app.models, siteId, orders, lookbackDays * DAY_MS);
      const buyers = new Map(orders.map((o) => [o.buyer, o]));
      const returning = await returningBuyers(app.models, siteId, [...buyers.values()], from);
      const all = emptySum();
      for (const c of credits) add(all, c);
      return {
        ...range,
        timezone,
        dimension,
        lookbackDays,
        totals: {
          orders: all.orders,
          buyers: all.buyers.size,
          ...money(all),
          newCustomers: buyers.size - returning.size,
          returningCustomers: returning.size,
          unattributedOrders: credits.filter((c) => !c.first).length,
        },
        firstTouch: rowsOf(credits, (c) => c.first, dimension),
        lastTouch: rowsOf(credits, (c) => c.last, dimension),
      };
    },
  );
};

export default attributionRoutes;
