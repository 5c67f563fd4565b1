/**
 * Revenue attribution: server orders joined through their profile to the buyer's visitor ids, credited to the
 * first touch and the last non-direct touch within the site's lookback (`GET /api/stats/attribution`).
 * `attributeOrders` takes more kinds of touches (e.g. campaign e-mail clicks) from its caller.
 */
export {
  attributeOrders,
  type Credit,
  creditOf,
  type Order,
  ordersBetween,
  returningBuyers,
  type Touch,
  type TouchSource,
  touchOfSource,
} from './attribute-orders.js';
export { default as attributionRoutes, rowsOf } from './attribution-routes.js';
