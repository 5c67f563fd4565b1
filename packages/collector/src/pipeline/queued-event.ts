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

/** One ingest job: the events of one or more requests, grouped by the enqueue batcher. */
export interface IngestJob {
  events: QueuedEvent[];
}
