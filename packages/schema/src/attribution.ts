import { type Static, Type } from 'typebox';

/** What attribution rows are grouped by. */
export const ATTRIBUTION_DIMENSIONS = ['source', 'channel', 'campaign'] as const;
export type AttributionDimension = (typeof ATTRIBUTION_DIMENSIONS)[number];

const ByCurrency = Type.Record(Type.String(), Type.Number(), {
  description: 'Per ISO 4217 code; `(none)` for orders that name no currency; never added across currencies',
});

/** Orders, buyers and revenue credited to one value (a source, a channel, a campaign). */
export const AttributionRow = Type.Object({
  value: Type.String(),
  orders: Type.Integer(),
  /** Distinct buyers (a profile, or a visitor id when the order names none). */
  buyers: Type.Integer(),
  revenueByCurrency: ByCurrency,
  /** Average order value per currency: revenue / orders of that currency. */
  aovByCurrency: ByCurrency,
});
export type AttributionRow = Static<typeof AttributionRow>;

/** `GET /api/stats/attribution`: server orders of a range credited to the first and the last non-direct touch. */
export const AttributionResult = Type.Object({
  from: Type.String({ description: 'site-local day' }),
  to: Type.String({ description: 'site-local day' }),
  timezone: Type.String(),
  dimension: Type.String(),
  /** Days before an order in which a visit can be credited (the site's setting). */
  lookbackDays: Type.Integer(),
  totals: Type.Object({
    orders: Type.Integer(),
    buyers: Type.Integer(),
    revenueByCurrency: ByCurrency,
    aovByCurrency: ByCurrency,
    /** Buyers whose first order ever is in the range, and the others. */
    newCustomers: Type.Integer(),
    returningCustomers: Type.Integer(),
    /** Orders with no visit of the buyer in the lookback (credited to `(none)`). */
    unattributedOrders: Type.Integer(),
  }),
  /** Credited to the buyer's first visit within the lookback. */
  firstTouch: Type.Array(AttributionRow),
  /** Credited to the buyer's last visit within the lookback that was not Direct (Direct if all were). */
  lastTouch: Type.Array(AttributionRow),
});
export type AttributionResult = Static<typeof AttributionResult>;
