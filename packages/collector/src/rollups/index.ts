/** Roll-ups: per-day metrics recorded exactly once per ingest job, folded by one folder; the metrics API. */
export { default as metricsRoutes } from './metrics-routes.js';
export { currencyOf, recordRollups, refundOf, revenueOf } from './record-rollups.js';
export { type RollupFolder, startRollupFolder } from './rollup-folder.js';
export { default as topPagesRoutes } from './top-pages-routes.js';
