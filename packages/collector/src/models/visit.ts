import { Schema, type Types } from 'mongoose';

/** A visit's dimensions, fixed by its first event (source, device, place), by the stats API's names. */
export interface VisitDims {
  channel: string;
  referrer: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  country: string | null;
  region: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  bot: boolean;
}

/** What a visit adds up to, computed from its stored events when it closes (analytics/visit-summary.ts). */
export interface VisitSummary {
  /** Started by a browser (false: server events only, e.g. an order of a visitor with no open visit). */
  client: boolean;
  pageviews: number;
  events: number;
  bounce: 0 | 1;
  /** Seconds from the first event to the last. */
  duration: number;
  entryPage: string | null;
  exitPage: string | null;
  orders: number;
  /** Revenue of orders that name no currency. */
  revenue: number;
  revenueByCurrency: Record<string, number>;
  pages: Array<{ page: string; views: number }>;
  names: Array<{ name: string; count: number; orders: number }>;
}

/**
 * One visit (`_id` from analytics/visit-state.ts): written by the ingest worker with idempotent upserts
 * (`$setOnInsert`, `$min`, `$max`), summarised and rolled up by the visit closer once nothing can join it.
 */
export interface VisitDoc {
  _id: string;
  siteId: Types.ObjectId;
  visitor: string;
  /** Site-local day of the first event, YYYY-MM-DD. */
  day: string;
  start: Date;
  end: Date;
  /** When an event last joined (wall clock): the closer waits until the visit can take no more. */
  touchedAt: Date;
  dims: VisitDims;
  closed: boolean;
  summary?: VisitSummary;
}

const visitSchema = new Schema<VisitDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    visitor: { type: String, required: true },
    day: { type: String, required: true },
    start: { type: Date, required: true },
    end: { type: Date, required: true },
    touchedAt: { type: Date, required: true },
    dims: { type: Schema.Types.Mixed, required: true },
    closed: { type: Boolean, default: false },
    summary: { type: Schema.Types.Mixed },
  },
  { collection: 'visits', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
visitSchema.index({ closed: 1, touchedAt: 1 });
visitSchema.index({ siteId: 1, day: 1 });
visitSchema.index({ siteId: 1, end: -1 });

/**
 * Roll-up of closed visits by dimension, one document per (site, site-local day, dimension, value),
 * `_id` = `<siteId>:<day>:<dimension>:<value>`; the totals are dimension `all`, value ``. Distinct visitors
 * are Redis HyperLogLogs of the same key (merged over any range at query time). Written only by the visit
 * closer; `jobs` holds the visits whose increment is applied but not yet confirmed (empty at rest).
 */
export interface StatsDailyDoc {
  _id: string;
  siteId: string;
  day: string;
  dim: string;
  value: string;
  visits: number;
  bounces: number;
  duration: number;
  pageviews: number;
  events: number;
  orders: number;
  revenue: number;
  revenueByCurrency?: Record<string, number>;
  jobs: string[];
}

const statsDailySchema = new Schema<StatsDailyDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: String, required: true },
    day: { type: String, required: true },
    dim: { type: String, required: true },
    value: { type: String, default: '' },
    visits: { type: Number, default: 0 },
    bounces: { type: Number, default: 0 },
    duration: { type: Number, default: 0 },
    pageviews: { type: Number, default: 0 },
    events: { type: Number, default: 0 },
    orders: { type: Number, default: 0 },
    revenue: { type: Number, default: 0 },
    revenueByCurrency: { type: Schema.Types.Mixed, default: undefined },
    jobs: { type: [String], default: [] },
  },
  { collection: 'stats_daily', versionKey: false, autoIndex: false, autoCreate: false },
);
statsDailySchema.index({ siteId: 1, dim: 1, day: 1 });

export { statsDailySchema, visitSchema };
