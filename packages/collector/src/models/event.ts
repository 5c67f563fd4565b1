import { Schema, type Types } from 'mongoose';

/**
 * A stored event (docs/architecture.md, data model). The pipeline inserts them with `insertMany` and `lean: true`
 * (no documents built, no casting) on the hot path; the schema still declares every field and the indexes.
 */
export interface EventDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  messageId: string;
  profileId: Types.ObjectId | null;
  anonymousId: string | null;
  sessionId: string | null;
  name: string;
  timestamp: Date;
  receivedAt: Date;
  properties: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** Who sent it: a browser (write key) or a backend (secret key). Events stored before 0.2 have it in `source`. */
  sentBy: 'client' | 'server';
  /** Where the visit came from (fixed by its first event); absent on events stored before 0.2. */
  source?: EventSource | null;
  device?: EventDevice | null;
  geo?: EventGeo | null;
  /** Sent by a crawler or a headless browser: stored, left out of every figure, counted apart. */
  bot?: boolean;
  /** The visit the event belongs to (visits collection); null for a server event outside any visit. */
  visitId?: string | null;
  userAgent: string | null;
  ip: string | null;
  /** Problems found but accepted (e.g. an orderTotal that disagrees with its items). */
  flags?: string[];
  /** The ingest job that inserted the event (`<job id>@<job time>`): roll-ups count each event for that job only. */
  ingestJob?: string;
}

/** Where a visit came from, as stored on its events. */
export interface EventSource {
  /** GA4's default channel group: Direct, Organic Search, Paid Search, Organic Social, Email, Referral, … */
  channel: string;
  /** Host of the referring page, `www.` dropped; null for direct visits. */
  referrerHost: string | null;
  utm: {
    source: string | null;
    medium: string | null;
    campaign: string | null;
    term: string | null;
    content: string | null;
  };
  /** The ad click id of the landing URL: `gclid:…`, `fbclid:…` or `msclkid:…`. */
  clickId: string | null;
}

/** What the user agent says. */
export interface EventDevice {
  browser: string | null;
  /** Major version, e.g. "120". */
  browserVersion: string | null;
  os: string | null;
  type: 'desktop' | 'mobile' | 'tablet' | 'other';
}

/** Where the IP address is (looked up before TRACKMATE_IP_MODE anonymises it). */
export interface EventGeo {
  /** ISO 3166-1 alpha-2. */
  country: string;
  /** ISO 3166-2 subdivision (`US-CA`) or the database's region name, when the database has regions. */
  region: string | null;
}

/** Who sent a stored event, for events stored before 0.2 too (they kept it in `source`). */
export const sentByOf = (doc: { sentBy?: 'client' | 'server'; source?: unknown }): 'client' | 'server' =>
  doc.sentBy ?? (doc.source === 'server' ? 'server' : 'client');

/** An event about to be inserted; what the after-insert hooks see. */
export type NewEventDoc = Omit<EventDoc, '_id'>;

const eventSchema = new Schema<EventDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    messageId: { type: String, required: true },
    profileId: { type: Schema.Types.ObjectId, default: null },
    anonymousId: { type: String, default: null },
    sessionId: { type: String, default: null },
    name: { type: String, required: true },
    timestamp: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    properties: { type: Schema.Types.Mixed, default: {} },
    context: { type: Schema.Types.Mixed },
    sentBy: { type: String, default: 'client' },
    source: { type: Schema.Types.Mixed },
    device: { type: Schema.Types.Mixed },
    geo: { type: Schema.Types.Mixed },
    bot: { type: Boolean },
    visitId: { type: String },
    userAgent: { type: String, default: null },
    ip: { type: String, default: null },
    flags: { type: [String], default: undefined },
    ingestJob: { type: String },
  },
  { collection: 'events', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
eventSchema.index({ siteId: 1, messageId: 1 }, { unique: true });
eventSchema.index({ siteId: 1, anonymousId: 1 });
eventSchema.index({ siteId: 1, profileId: 1, timestamp: -1 });
eventSchema.index({ siteId: 1, name: 1, timestamp: -1 });
// the visit closer reads a visit's events
eventSchema.index({ visitId: 1 });
// retention deletes by receivedAt, a batch at a time: without it each batch would scan the collection
eventSchema.index({ receivedAt: 1 });

export { eventSchema };
