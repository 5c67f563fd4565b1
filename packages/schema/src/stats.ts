import { type Static, Type } from 'typebox';

/** Dimensions of the stats routes' `dimension=` and `filters=`. */
export const STATS_DIMENSIONS = [
  'page',
  'entryPage',
  'exitPage',
  'channel',
  'referrer',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmTerm',
  'utmContent',
  'country',
  'region',
  'browser',
  'os',
  'device',
  'event',
] as const;
export type StatsDimension = (typeof STATS_DIMENSIONS)[number];

/** Amounts per ISO 4217 code; two currencies are never added together. */
const ByCurrency = Type.Record(Type.String(), Type.Number());
const Rate = Type.Union([Type.Number(), Type.Null()]);

/**
 * Figures of a range (or of one breakdown row, or one day): raw sums, so a client can re-aggregate, beside the
 * rates derived from them (null where there is no visit).
 */
export const StatsFigures = Type.Object({
  /** Distinct visitors over the whole range (daily sketches merged, not a sum of days). */
  visitors: Type.Integer(),
  visits: Type.Integer(),
  pageviews: Type.Integer(),
  /** Visits of one page view, shorter than 10 seconds, with no click, form, add to cart or order. */
  bounces: Type.Integer(),
  /** Seconds, summed over the visits (each visit: last event minus first). */
  totalDuration: Type.Number(),
  events: Type.Integer(),
  orders: Type.Integer(),
  /** Revenue of orders that name no currency (net of refunds). */
  revenue: Type.Number(),
  /** Revenue of orders naming a currency, per ISO 4217 code (net of refunds). */
  revenueByCurrency: ByCurrency,
  /** pageviews / visits. */
  viewsPerVisit: Rate,
  /** bounces / visits, 0–1. */
  bounceRate: Rate,
  /** totalDuration / visits, seconds. */
  visitDuration: Rate,
});
export type StatsFigures = Static<typeof StatsFigures>;

const Range = {
  from: Type.String({ description: 'site-local day' }),
  to: Type.String({ description: 'site-local day' }),
};

/** `GET /api/stats/aggregate`. */
export const StatsAggregate = Type.Object({
  ...Range,
  timezone: Type.String(),
  results: StatsFigures,
  /** The same figures for the range of the same length just before (`compare=previous`). */
  previous: Type.Optional(Type.Object({ ...Range, results: StatsFigures })),
  /** Bots are left out of every figure and counted apart. */
  bots: Type.Object({ visits: Type.Integer(), events: Type.Integer() }),
});
export type StatsAggregate = Static<typeof StatsAggregate>;

/** `GET /api/stats/timeseries`: one entry per site-local day of the range, days without traffic included. */
export const StatsTimeseries = Type.Object({
  ...Range,
  timezone: Type.String(),
  days: Type.Array(Type.Intersect([Type.Object({ day: Type.String() }), StatsFigures])),
});
export type StatsTimeseries = Static<typeof StatsTimeseries>;

/** One row of a breakdown: a dimension's value (`(none)` when the visit had none) and its figures. */
export const StatsRow = Type.Intersect([Type.Object({ value: Type.String() }), StatsFigures]);
export type StatsRow = Static<typeof StatsRow>;

/** `GET /api/stats/breakdown`: rows by visits (page views for `page`, events for `event`), a page at a time. */
export const StatsBreakdown = Type.Object({
  ...Range,
  dimension: Type.String(),
  rows: Type.Array(StatsRow),
  page: Type.Integer(),
  /** Rows after this page. */
  hasMore: Type.Boolean(),
});
export type StatsBreakdown = Static<typeof StatsBreakdown>;

/** `GET /api/stats/realtime`. */
export const StatsRealtime = Type.Object({
  /** Distinct visitors with an event in the last 5 minutes (bots left out). */
  visitors: Type.Integer(),
  since: Type.String({ format: 'date-time' }),
});
export type StatsRealtime = Static<typeof StatsRealtime>;
