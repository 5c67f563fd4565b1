import type { EventGeo } from '../models/index.js';
import type { ProfileUpsert } from '../profiles/index.js';

/** An accepted event as it travels through the ingest queue: validated, enriched, JSON-safe. */
export interface QueuedEvent {
  siteId: string;
  messageId: string;
  name: string;
  /** Skew-corrected event time, ISO-8601. */
  timestamp: string;
  receivedAt: string;
  anonymousId: string | null;
  sessionId: string | null;
  profileId: string | null;
  properties: Record<string, unknown>;
  context?: Record<string, unknown>;
  source: 'client' | 'server';
  userAgent: string | null;
  ip: string | null;
  /** Country and region of the request's address, looked up before TRACKMATE_IP_MODE anonymised it. */
  geo?: EventGeo;
  flags?: string[];
  /** Set on profile-creating events: the profile to create or update, keyed by e-mail. */
  profile?: ProfileUpsert;
}

/** The fields every event of one request shares: written once per request in a job. */
export type SharedField = 'siteId' | 'receivedAt' | 'source' | 'userAgent' | 'ip' | 'geo';

/** An event of a queued request: its own fields, without those its request holds once. */
export type RequestEvent = Omit<QueuedEvent, SharedField>;

/** The events of one request (or of a run of its events) in a job: their shared fields once, then each event's own. */
export type QueuedRequest = Pick<QueuedEvent, SharedField> & { events: RequestEvent[] };

/**
 * One ingest job: the events of one or more requests, grouped by the enqueue batcher. The API writes
 * `{ requests }`, each request's shared fields once (a 100-event batch's job is ~30-60 % smaller: less to
 * serialize and to send to Redis); jobs of the earlier `{ events }` shape, each event whole, are still read (jobs
 * queued before an upgrade, dead-letter replays, jobs an erasure rewrote). Read the events with `jobEvents`.
 */
export type IngestJob = { events: QueuedEvent[] } | { requests: QueuedRequest[] };

/** An event's own fields (every one of RequestEvent's, so that a field added to QueuedEvent cannot be left out). */
export function requestEvent(e: QueuedEvent): RequestEvent {
  const own: { [K in keyof Required<RequestEvent>]: RequestEvent[K] } = {
    messageId: e.messageId,
    name: e.name,
    timestamp: e.timestamp,
    anonymousId: e.anonymousId,
    sessionId: e.sessionId,
    profileId: e.profileId,
    properties: e.properties,
    context: e.context,
    flags: e.flags,
    profile: e.profile,
  };
  return own; // undefined fields are left out of the JSON, as they were of the whole event's
}

/** Whether two events of a request share the fields written once per request. */
export const sameRequest = (a: QueuedEvent, b: QueuedEvent): boolean =>
  a.siteId === b.siteId &&
  a.receivedAt === b.receivedAt &&
  a.source === b.source &&
  a.userAgent === b.userAgent &&
  a.ip === b.ip &&
  (a.geo === b.geo || (a.geo?.country === b.geo?.country && a.geo?.region === b.geo?.region));

/** A request's event, whole again, its fields in the order the API builds them (validate-client.ts). */
function wholeEvent(r: QueuedRequest, e: RequestEvent): QueuedEvent {
  const { siteId, receivedAt, source, userAgent, ip } = r;
  const { messageId, name, timestamp, anonymousId, sessionId, profileId, properties, context } = e;
  // two literals rather than a field added later: `context` sits after `properties` in a whole event
  const event: QueuedEvent =
    context === undefined
      ? {
          siteId,
          messageId,
          name,
          timestamp,
          receivedAt,
          anonymousId,
          sessionId,
          profileId,
          properties,
          source,
          userAgent,
          ip,
        }
      : {
          siteId,
          messageId,
          name,
          timestamp,
          receivedAt,
          anonymousId,
          sessionId,
          profileId,
          properties,
          context,
          source,
          userAgent,
          ip,
        };
  if (r.geo !== undefined) event.geo = r.geo;
  if (e.profile !== undefined) event.profile = e.profile;
  if (e.flags !== undefined) event.flags = e.flags;
  return event;
}

const read = new WeakMap<object, QueuedEvent[]>();

/**
 * A job's events, whichever shape it was queued in. The same array (the same event objects) for every call on
 * the same data, so that the worker can key its bookkeeping by event.
 */
export function jobEvents(data: IngestJob): QueuedEvent[] {
  if ('events' in data) return data.events;
  let events = read.get(data);
  if (!events) {
    events = [];
    for (const r of data.requests) for (const e of r.events) events.push(wholeEvent(r, e));
    read.set(data, events);
  }
  return events;
}
