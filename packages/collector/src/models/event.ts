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
  source: 'client' | 'server';
  userAgent: string | null;
  ip: string | null;
  /** Problems found but accepted (e.g. an orderTotal that disagrees with its items). */
  flags?: string[];
  /** The ingest job that inserted the event (`<job id>@<job time>`): roll-ups count each event for that job only. */
  ingestJob?: string;
}

/** An event about to be inserted (the driver assigns `_id`); what the after-insert hooks see. */
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
    source: { type: String, default: 'client' },
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
// retention deletes by receivedAt, a batch at a time: without it each batch would scan the collection
eventSchema.index({ receivedAt: 1 });

export { eventSchema };
