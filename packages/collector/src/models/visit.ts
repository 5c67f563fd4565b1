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
 * Roll-up of closed visits by dimension, one document per (site, dimension, site-local month),
 * `_id` = `<siteId>:<dimension>:<YYYY-MM>`; the totals are dimension `all`, bots `bots`. `days` is the month's
 * figures per day and value and `sum` the month's per value, both as JSON text (analytics/stats-blocks.ts): a
 * stats query reads a handful of these by `_id` (the one filter shape FerretDB 1.24 does not decode document by
 * document) and one string each, where a row per day and value made a 90-day breakdown read tens of thousands of
 * documents. Distinct visitors are Redis HyperLogLogs per day and value. Written only by the visit closer (and
 * `rollups rebuild`) under the closer's lock; `jobs` holds the visits whose figures are in the block but not yet
 * confirmed (empty at rest).
 */
export interface StatsBlockDoc {
  _id: string;
  siteId: string;
  dim: string;
  month: string;
  days: string;
  sum: string;
  jobs: string[];
}

const statsBlockSchema = new Schema<StatsBlockDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: String, required: true },
    dim: { type: String, required: true },
    month: { type: String, required: true },
    days: { type: String, default: '[]' },
    sum: { type: String, default: '[]' },
    jobs: { type: [String], default: [] },
  },
  { collection: 'stats_blocks', versionKey: false, autoIndex: false, autoCreate: false },
);
statsBlockSchema.index({ siteId: 1 });

export { statsBlockSchema, visitSchema };
