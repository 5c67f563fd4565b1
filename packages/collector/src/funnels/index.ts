/**
 * Funnels: ordered steps matched per person (a profile, or a visitor id not yet identified) within a conversion
 * window, from the stored events (`GET /api/stats/funnel`).
 */
export { default as funnelRoutes } from './funnel-routes.js';
