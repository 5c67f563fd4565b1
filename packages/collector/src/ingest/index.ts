/** Ingest: track, server-event and Segment routes, the one ingest request path (other features' feeds use it), request parsing, validation, enrichment and enqueueing; /sdk.js. */
export type { GeoOf, IngestFeed } from './accept.js';
export { type IngestContext, type IngestItems, ingestRequest } from './ingest-request.js';
export { default as ingestRoutes, type IngestOptions } from './ingest-routes.js';
export { structuralErrors, validateClientEvents } from './validate-client.js';
export { serverMessageId, validateServerEvents } from './validate-server.js';
export { siteOfWriteKey, writeKeyHooks, writeKeyOf } from './write-key.js';
