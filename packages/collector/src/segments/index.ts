/** Segments: profile facts kept by the worker, saved audiences evaluated live, their API. */
export { belongsNow, loadSegments, type SiteSegments } from './evaluate.js';
export { type FactsRebuildResult, rebuildFacts } from './facts-command.js';
export { areMembers, countMembers, dropSiteSegmentKeys, memberIds } from './membership.js';
export { type FactsDeps, recordProfileFacts, reevaluateProfiles } from './record-facts.js';
export { refreshSegment, SEGMENT_REFRESH_JOB, type SegmentRefreshJob } from './refresh-segment.js';
export { segmentOfSite } from './segment-repository.js';
export { default as segmentRoutes } from './segment-routes.js';
