/** Segment-compatible ingest: Segment's tracking API routes, mapped onto TrackMate events and profiles. */
export { default as segmentRoutes } from './segment-routes.js';
