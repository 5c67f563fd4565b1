import { Schema } from 'mongoose';

/**
 * Pre-computed roll-up, one document per (site, UTC day, event name), `_id` = `<siteId>:<day>:<name>`.
 * Written only by the roll-up folder (rollups/rollup-folder.ts). `jobs` holds the contributions whose increment is
 * applied but not yet confirmed; it is empty at rest.
 */
export interface MetricsDailyDoc {
  _id: string;
  siteId: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  name: string;
  count: number;
  /** Distinct visitors that day (from a HyperLogLog sketch, see rollups/rollup-folder.ts). */
  visitors: number;
  /** Order events only. */
  orders: number;
  /** Revenue of orders that name no currency. */
  revenue: number;
  /** Revenue of orders that name one, per ISO 4217 code (`{ EUR: 120.5 }`): currencies are never added up. */
  revenueByCurrency?: Record<string, number>;
  jobs: string[];
}

const metricsDailySchema = new Schema<MetricsDailyDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: String, required: true },
    day: { type: String, required: true },
    name: { type: String, required: true },
    count: { type: Number, default: 0 },
    visitors: { type: Number, default: 0 },
    orders: { type: Number, default: 0 },
    revenue: { type: Number, default: 0 },
    revenueByCurrency: { type: Schema.Types.Mixed, default: undefined },
    jobs: { type: [String], default: [] },
  },
  { collection: 'metrics_daily', versionKey: false, autoIndex: false, autoCreate: false },
);
metricsDailySchema.index({ siteId: 1, day: 1, name: 1 });

/**
 * One ingest job's contribution to one bucket, `_id` = `<bucket>|<jobKey>`, as versions that kept them in MongoDB
 * left it: contributions now wait in Redis (rollups/pending-contributions.ts), and the roll-up folder moves what
 * this collection and metrics_folded still hold there once, then drops both (takeOverMongoPending).
 */
export interface MetricsPendingDoc {
  _id: string;
  bucket: string;
  siteId: string;
  day: string;
  name: string;
  count: number;
  orders: number;
  revenue: number;
  revenueByCurrency: Record<string, number>;
  /** Recorded by a retried job. */
  retry: boolean;
  at: Date;
}

const metricsPendingSchema = new Schema<MetricsPendingDoc>(
  {
    _id: { type: String, required: true },
    bucket: { type: String, required: true },
    siteId: { type: String, required: true },
    day: { type: String, required: true },
    name: { type: String, required: true },
    count: { type: Number, required: true },
    orders: { type: Number, required: true },
    revenue: { type: Number, required: true },
    revenueByCurrency: { type: Schema.Types.Mixed, default: {} },
    retry: { type: Boolean, default: false },
    at: { type: Date, required: true },
  },
  { collection: 'metrics_pending', versionKey: false, autoIndex: false, autoCreate: false },
);

/** Contributions folded by versions that kept them in MongoDB (`_id` as in metrics_pending); see above. */
export interface MetricsFoldedDoc {
  _id: string;
  at: Date;
}

const metricsFoldedSchema = new Schema<MetricsFoldedDoc>(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'metrics_folded', versionKey: false, autoIndex: false, autoCreate: false },
);

export { metricsDailySchema, metricsFoldedSchema, metricsPendingSchema };
