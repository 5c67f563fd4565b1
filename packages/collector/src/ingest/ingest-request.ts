import type { RejectedItem, TrackAccepted } from '@trackmate/schema';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventGeo } from '../models/index.js';
import type { QueuedEvent } from '../pipeline/index.js';
import type { CachedSite } from '../sites/index.js';
import { accept, type IngestFeed } from './accept.js';
import { storedIp } from './client-ip.js';
import { rejectForeignProfileIds } from './profile-ids.js';
import { cleanEventUrls } from './url-params.js';

/** What every ingest route knows of a request once its key has named the site. */
export interface IngestContext {
  siteId: string;
  receivedAt: Date;
  /** The client address as TRACKMATE_IP_MODE stores it. */
  ip: string | null;
  /** Country and region of the client address (before anonymisation); null for server events. */
  geo: EventGeo | null;
  userAgent: string | null;
}

/**
 * The request's parsed body, no longer held by the request. A route checks and serializes its events before it
 * waits for Redis, and nothing reads `request.body` after the handler: a body held until the answer outlived
 * young collections under load and was promoted (bench/, 100-event batches at 10 connections: 1.7 → 0.75 MB
 * promoted a young collection).
 */
export function takeBody<T>(request: FastifyRequest & { body: T }): T {
  const body = request.body;
  (request as { body: T | undefined }).body = undefined;
  return body;
}

/** Events a route validated or mapped from a request, the rejected ones with their reasons. */
export interface IngestItems {
  events: QueuedEvent[];
  rejected: RejectedItem[];
  /** Index in the request of each accepted event, parallel to `events`. */
  indexes: number[];
}

/** Who sent the request: a browser (its URLs are cleaned by the site's rules) or a server. */
type Sender =
  | { source: 'client'; site: Pick<CachedSite, 'id' | 'urlParams'> }
  | { source: 'server'; site: Pick<CachedSite, 'id'> };

/**
 * The one path of every ingest request once the key (or, for a shop platform, the signature) has named the site
 * — `/api/track/event`, `/api/track/server-event`, Segment's `/v1/*`, the pixel `/p.gif` and the platforms'
 * order webhooks: the request's context, the route's own validation or mapping (`build`), then for every event
 * the same steps — a browser's URLs cleaned by the site's rules, profileIds of another site rejected, the
 * rejections in request order — and `accept()`. Resolves to `{ accepted, rejected }` once the events are
 * durable in Redis; each route answers in its own way (202 JSON, a GIF, the platform's 200).
 */
export function ingestRequest(
  app: FastifyInstance,
  feed: Pick<IngestFeed, 'batcher' | 'geo'>,
  request: FastifyRequest,
  route: Sender & {
    isBatch: boolean;
    /** When the request arrived (taken first thing, before any lookup). */
    receivedAt: Date;
    build: (context: IngestContext) => IngestItems;
  },
): Promise<TrackAccepted> {
  const items = route.build({
    siteId: route.site.id,
    receivedAt: route.receivedAt,
    ip: storedIp(request.ip, app.config.ipMode),
    // server traffic comes from a few backend addresses: their place says nothing of the customer's
    geo: route.source === 'client' ? feed.geo(request.ip) : null,
    userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
  });
  if (route.source === 'client') cleanEventUrls(items.events, route.site.urlParams);
  const finish = () => {
    if (items.rejected.length > 1) items.rejected.sort((a, b) => a.index - b.index);
    return accept(app, feed.batcher, route.source, route.isBatch, items);
  };
  // a query only when an event names a profile; otherwise no promise before the enqueue (the hot path)
  const checking = rejectForeignProfileIds(app.models, route.site.id, items);
  return checking ? checking.then(finish) : finish();
}
