/**
 * Funnels: ordered steps matched per person (a profile, or a visitor id not yet identified) within a conversion
 * window — from the stored events (`GET /api/stats/funnel?steps=`) or from a saved funnel's state, which the
 * ingest worker keeps current (`/api/funnels`, `GET /api/stats/funnel?funnel=`).
 */
export { buildFunnel } from './funnel-build.js';
export { createFunnelHook } from './funnel-hook.js';
export {
  applyToFunnel,
  erasePersonFromFunnels,
  type FunnelInput,
  type LiveFunnel,
  liveFunnel,
} from './funnel-progress.js';
export { default as funnelRoutes } from './funnel-routes.js';
export { savedFigures } from './funnel-saved.js';
export { funnelBase } from './funnel-state.js';
export { default as savedFunnelRoutes } from './saved-funnel-routes.js';
