import type { Queue } from 'bullmq';
import type { IngestJob } from '../pipeline/index.js';
import type { Routes } from '../route-kit.js';
import type { GeoOf, IngestFeed } from './accept.js';
import { Backpressure } from './backpressure.js';
import { DEFAULT_BATCHER, EnqueueBatcher } from './enqueue-batcher.js';
import { cachedGeo } from './geo-cache.js';
import sdkRoute from './sdk-route.js';
import { segmentRoutes } from './segment/index.js';
import serverEventRoutes from './server-event-routes.js';
import trackRoutes from './track-routes.js';

export interface IngestOptions {
  /** Routes of other features that hand events to the same queue (integrations/: platform webhooks, the pixel). */
  feeds?: Routes<IngestFeed>[];
  /** Looked up per request, before TRACKMATE_IP_MODE anonymises the address; absent with TRACKMATE_GEO=off. */
  geo?: GeoOf | null;
}

const noGeo: GeoOf = () => null;

/**
 * Ingest: the track endpoints, which validate, enrich and hand events to the ingest queue (202 only once they
 * are durable in Redis, 503 while the backlog is over its limit), Segment's tracking API (`segment/`), the `feeds` other features add (the shop platforms' webhooks), and `/sdk.js`. On close, requests in flight finish first, then the queued writes, before the queue closes.
 */
const ingestRoutes: Routes<IngestOptions> = async (app, { feeds = [], geo }) => {
  // Requests here log only when they fail (request logging is off), one line each: the process's logger is
  // enough, and the per-request child logger that would carry the request id was ~2 % of the API's CPU under
  // single-event load (bench/ profile).
  app.setChildLoggerFactory((logger) => logger);
  const queue: Pick<Queue<IngestJob>, 'add'> = app.queues.ingest;
  // open client connections, for the group commit: once each has its request waiting, nobody else can join
  let connections = 0;
  app.server.on('connection', (socket) => {
    connections++;
    socket.once('close', () => connections--);
  });
  const batcher = new EnqueueBatcher(queue, {
    ...DEFAULT_BATCHER,
    // only while the workers are behind: then larger jobs drain faster; otherwise each request's events are
    // written (and stored) at once, and a client sending one request at a time is not slowed down
    lingerMs: (): number =>
      backpressure.backlogEvents >= app.config.ingestGroupBacklog ? app.config.ingestGroupMs : 0,
    connections: () => connections,
  });
  const { maxBacklogEvents, maxRedisMemory } = app.config;
  const backpressure = new Backpressure(
    app.queues.ingest,
    app.redis,
    batcher,
    { maxBacklogEvents, maxRedisMemory, intervalMs: 250 },
    app.prometheus,
  ).start();
  app.addHook('onClose', async () => {
    backpressure.stop();
    await batcher.drain();
  });
  const ingest = { batcher, backpressure, geo: geo ? cachedGeo(geo) : noGeo };
  await app.register(trackRoutes, { prefix: '/api/track', ...ingest });
  await app.register(serverEventRoutes, ingest);
  await app.register(segmentRoutes, ingest);
  // routes of other features that hand events to the same queue (integrations/: platform webhooks, the pixel)
  for (const feed of feeds) await app.register(feed, ingest);
  await app.register(sdkRoute);
};

export default ingestRoutes;
