/** Ingest: track and server-event routes, request parsing, validation, enrichment and enqueueing; /sdk.js. */
export { accept, type GeoOf, type IngestFeed } from './accept.js';
export { storedIp } from './client-ip.js';
export { default as ingestRoutes, type IngestOptions } from './ingest-routes.js';
export { cleanEventUrls } from './url-params.js';
export { structuralErrors, validateClientEvents } from './validate-client.js';
export { serverMessageId } from './validate-server.js';
export { siteOfWriteKey, writeKeyHooks, writeKeyOf } from './write-key.js';
