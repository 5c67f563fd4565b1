import { Funnel, Metrics } from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { EventName, errorReplies, type Routes, siteIdOf } from '../route-kit.js';
import { metricsRepository } from './metrics-repository.js';

export const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'UTC day, YYYY-MM-DD' });
const DAY_MS = 86_400_000;
const FUNNEL_STEPS = ['page_view', 'add_to_cart', 'order_placed'];

/** from/to as UTC days; default the last 30 days; at most 366 days. */
export function dayRange(q: { from?: string; to?: string }): { from: string; to: string } {
  const parse = (s: string, what: string) => {
    const d = new Date(`${s}T00:00:00Z`);
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s) {
      throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `${what} is not a day: ${s}` });
    }
    return d;
  };
  const to = q.to ? parse(q.to, 'to') : new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
  const from = q.from ? parse(q.from, 'from') : new Date(to.getTime() - 29 * DAY_MS);
  if (from > to) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'from is after to' });
  if (to.getTime() - from.getTime() > 365 * DAY_MS)
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'At most 366 days at once' });
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

interface Totals {
  count: number;
  /** Sum of each day's distinct visitors (a visitor seen on two days counts twice). */
  visitorDays: number;
  orders: number;
  /** Revenue of orders that name no currency. */
  revenue: number;
  /** Revenue of orders that name one, per ISO 4217 code; two currencies are never added together. */
  revenueByCurrency: Record<string, number>;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Adds each currency's amount of `from` to `into` (rounded to cents). */
function addCurrencies(into: Record<string, number>, from: Record<string, number> | undefined) {
  for (const [code, n] of Object.entries(from ?? {})) into[code] = round2((into[code] ?? 0) + n);
  return into;
}

const common = { tags: ['metrics'], security: [{ secretKey: [] }] };

/** Metrics answered from the daily roll-ups (metrics_daily) only; `events` is never scanned. */
const metricsRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const { buckets } = metricsRepository(app.models);

  app.get(
    '/api/metrics',
    {
      schema: {
        ...common,
        summary: 'Daily counts, distinct visitors, orders and revenue per event name',
        querystring: Type.Object({ from: Type.Optional(Day), to: Type.Optional(Day), event: Type.Optional(EventName) }),
        response: { 200: Metrics, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const range = dayRange(q);
      const docs = await buckets(siteIdOf(request), range, q.event ? [q.event] : undefined);
      const byName = new Map<
        string,
        { name: string; totals: Totals; days: Array<Omit<Totals, 'visitorDays'> & { day: string; visitors: number }> }
      >();
      for (const d of docs.sort((a, b) => a.day.localeCompare(b.day))) {
        let s = byName.get(d.name);
        if (!s) {
          s = {
            name: d.name,
            totals: { count: 0, visitorDays: 0, orders: 0, revenue: 0, revenueByCurrency: {} },
            days: [],
          };
          byName.set(d.name, s);
        }
        s.totals.count += d.count;
        s.totals.visitorDays += d.visitors;
        s.totals.orders += d.orders;
        s.totals.revenue = round2(s.totals.revenue + d.revenue);
        addCurrencies(s.totals.revenueByCurrency, d.revenueByCurrency);
        s.days.push({
          day: d.day,
          count: d.count,
          visitors: d.visitors,
          orders: d.orders,
          revenue: round2(d.revenue),
          revenueByCurrency: addCurrencies({}, d.revenueByCurrency),
        });
      }
      return { ...range, events: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)) };
    },
  );

  app.get(
    '/api/metrics/funnel',
    {
      schema: {
        ...common,
        summary: 'Funnel page_view → add_to_cart → order_placed over a day range, from the daily roll-ups',
        description:
          'Each step counts events and visitor-days (the sum of each day’s distinct visitors); conversion is ' +
          'visitor-days of a step over those of the step before. Steps are not checked per visitor.',
        querystring: Type.Object({ from: Type.Optional(Day), to: Type.Optional(Day) }),
        response: { 200: Funnel, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const range = dayRange(request.query);
      const docs = await buckets(siteIdOf(request), range, FUNNEL_STEPS);
      const steps = FUNNEL_STEPS.map((name) => {
        const mine = docs.filter((d) => d.name === name);
        return {
          name,
          count: mine.reduce((n, d) => n + d.count, 0),
          visitorDays: mine.reduce((n, d) => n + d.visitors, 0),
          revenue: round2(mine.reduce((n, d) => n + d.revenue, 0)),
          revenueByCurrency: mine.reduce<Record<string, number>>((c, d) => addCurrencies(c, d.revenueByCurrency), {}),
        };
      });
      const rate = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);
      return {
        ...range,
        steps: steps.map((s, i) => ({
          ...s,
          conversionFromPrevious: i === 0 ? null : rate(s.visitorDays, steps[i - 1]!.visitorDays),
          conversionFromFirst: i === 0 ? null : rate(s.visitorDays, steps[0]!.visitorDays),
        })),
      };
    },
  );
};

export default metricsRoutes;
