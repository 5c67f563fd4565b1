import type { RejectedItem, TrackAccepted } from '@trackmate/schema';
import type { FastifyInstance } from 'fastify';
import { TrackMateError } from '../errors.js';
import type { EventGeo } from '../models/index.js';
import type { QueuedEvent } from '../pipeline/index.js';
import type { Backpressure } from './backpressure.js';
import type { EnqueueBatcher } from './enqueue-batcher.js';

/**
 * The end of every ingest request: counts, a 400 naming what is wrong when no event is valid, else the valid
 * events handed to the queue; resolves to `{ accepted, rejected }` once they are durable in Redis.
 */
export function accept(
  app: FastifyInstance,
  batcher: EnqueueBatcher,
  source: 'client' | 'server',
  isBatch: boolean,
  { events, rejected }: { events: QueuedEvent[]; rejected: RejectedItem[] },
): Promise<TrackAccepted> {
  if (rejected.length) app.prometheus.eventsRejected.inc({ source }, rejected.length);
  if (!events.length) {
    return Promise.reject(
      new TrackMateError('TM_ERR_INVALID_PAYLOAD', {
        message: isBatch ? 'No event in the batch is valid' : `The event is invalid: ${rejected[0]?.errors.join('; ')}`,
        details: { rejected },
      }),
    );
  }
  // the count, not the events: nothing keeps a request's objects alive while its job waits for Redis
  const accepted = events.length;
  return batcher.enqueue(events).then(() => {
    app.prometheus.eventsAccepted.inc({ source }, accepted);
    return { accepted, rejected };
  });
}

/** Country and region of a client address (analytics' offline database), or null. */
export type GeoOf = (ip: string | undefined) => EventGeo | null;

/** What a route that hands events to the ingest queue is registered with. */
export interface IngestFeed {
  batcher: EnqueueBatcher;
  backpressure: Backpressure;
  /** Looked up per request, before TRACKMATE_IP_MODE anonymises the address (null for all with TRACKMATE_GEO=off). */
  geo: GeoOf;
}
