import { type Static, Type } from 'typebox';

/** Amounts per ISO 4217 code; two currencies are never added together. */
const ByCurrency = Type.Record(Type.String(), Type.Number());

/** One event name's roll-up of one UTC day. */
export const DayMetrics = Type.Object({
  day: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
  count: Type.Integer(),
  /** Distinct visitors of the day. */
  visitors: Type.Number(),
  orders: Type.Integer(),
  /** Revenue of orders that name no currency. */
  revenue: Type.Number(),
  /** Revenue of orders naming one, per ISO 4217 code. */
  revenueByCurrency: ByCurrency,
});
export type DayMetrics = Static<typeof DayMetrics>;

/** One event name over the range: totals and each day that has any. */
export const EventMetrics = Type.Object({
  name: Type.String(),
  totals: Type.Object({
    count: Type.Integer(),
    /** Sum of each day's distinct visitors (a visitor seen on two days counts twice). */
    visitorDays: Type.Number(),
    orders: Type.Integer(),
    revenue: Type.Number(),
    revenueByCurrency: ByCurrency,
  }),
  days: Type.Array(DayMetrics),
});
export type EventMetrics = Static<typeof EventMetrics>;

/** `GET /api/metrics`: daily roll-ups per event name over a day range. */
export const Metrics = Type.Object({
  from: Type.String(),
  to: Type.String(),
  events: Type.Array(EventMetrics),
});
export type Metrics = Static<typeof Metrics>;

export const FunnelStep = Type.Object({
  name: Type.String(),
  count: Type.Integer(),
  visitorDays: Type.Number(),
  revenue: Type.Number(),
  revenueByCurrency: ByCurrency,
  /** Visitor-days of this step over those of the step before (null for the first, or when that is 0). */
  conversionFromPrevious: Type.Union([Type.Number(), Type.Null()]),
  conversionFromFirst: Type.Union([Type.Number(), Type.Null()]),
});
export type FunnelStep = Static<typeof FunnelStep>;

/** `GET /api/metrics/funnel`: page_view → add_to_cart → order_placed. */
export const Funnel = Type.Object({
  from: Type.String(),
  to: Type.String(),
  steps: Type.Array(FunnelStep),
});
export type Funnel = Static<typeof Funnel>;

/** `GET /api/metrics/top-pages`: the most viewed page URLs over a day range. */
export const TopPages = Type.Object({
  from: Type.String(),
  to: Type.String(),
  pages: Type.Array(Type.Object({ url: Type.String(), views: Type.Integer() })),
});
export type TopPages = Static<typeof TopPages>;
