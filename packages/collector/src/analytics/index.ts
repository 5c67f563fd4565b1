/**
 * Analytics: enrichment stored on each event (source and channel, device, bot flag, place, visit), visits
 * closed and rolled up by dimension per site-day, and the stats API.
 */
export { parseAgent } from './device.js';
export { createEnricher, type Enricher } from './enrich.js';
export { defaultGeoDatabase, type GeoLookup, openGeo } from './geo.js';
export { progressBar, type RebuildResult, rebuildRollups } from './rebuild.js';
export { dayStartMs, localDay, siteTimeZones } from './site-days.js';
export { sourceOf } from './source.js';
export { default as statsKeyRoutes } from './stats-key-routes.js';
export { default as statsRoutes, rangeOf } from './stats-routes.js';
export { closeVisits, startVisitCloser, type VisitCloser } from './visit-closer.js';
export { recordVisitEvents } from './visit-events.js';
export { VISIT_IDLE_MS } from './visit-state.js';
export { pathOf } from './visit-summary.js';
