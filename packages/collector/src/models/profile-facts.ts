import { Schema, type Types } from 'mongoose';

/** Where a person first came from: the source of their earliest event that had one. */
export interface FirstTouch {
  channel: string | null;
  /** `utm_source`, else the referring host. */
  source: string | null;
  medium: string | null;
  campaign: string | null;
}

/**
 * What segments look at besides the profile itself, kept current by the ingest worker (segments/record-facts.ts)
 * and rebuilt from stored events by `trackmate-collector segments facts`. `_id` is the profile's id, so every read
 * and write is an `_id` lookup. Kept apart from `profiles` so that the worker's writes never race the profile's own.
 */
export interface ProfileFactsDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  firstSeen: Date | null;
  lastSeen: Date | null;
  firstTouch: FirstTouch | null;
  /** Country (ISO 3166-1 alpha-2) of the latest event that had a place. */
  country: string | null;
  /** Events per name, all time. */
  counts: Record<string, number>;
  /** Events per name per UTC day (`YYYYMMDD`), the last FACT_DAYS days only. */
  days: Record<string, Record<string, number>>;
  /** Orders sent by a server (`order_placed`) and their revenue per ISO 4217 code (`XXX`: no currency named). */
  orders: number;
  revenue: Record<string, number>;
  lastOrderAt: Date | null;
  /** Visitor ids whose stored events are counted here. */
  visitors: string[];
  /** Keys of the latest ingest jobs counted here (a retried job counts once). */
  jobs: string[];
  updatedAt: Date;
}

const profileFactsSchema = new Schema<ProfileFactsDoc>(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    firstSeen: { type: Date, default: null },
    lastSeen: { type: Date, default: null },
    firstTouch: { type: Schema.Types.Mixed, default: null },
    country: { type: String, default: null },
    counts: { type: Schema.Types.Mixed, default: {} },
    days: { type: Schema.Types.Mixed, default: {} },
    orders: { type: Number, default: 0 },
    revenue: { type: Schema.Types.Mixed, default: {} },
    lastOrderAt: { type: Date, default: null },
    visitors: { type: [String], default: [] },
    jobs: { type: [String], default: [] },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'profile_facts', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
profileFactsSchema.index({ siteId: 1 });

export { profileFactsSchema };
