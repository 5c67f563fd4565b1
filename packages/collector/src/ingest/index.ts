/** Ingest: track and server-event routes, request parsing, validation, enrichment and enqueueing; /sdk.js. */
export { default as ingestRoutes } from './ingest-routes.js';
export type { IngestJob, QueuedEvent } from './queued-event.js';
export { rateLimitOptions } from './rate-limits.js';
