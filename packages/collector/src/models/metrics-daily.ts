import { type Model, Schema } from 'mongoose';

/**
 * Pre-computed roll-up, one document per (site, UTC day, event name), `_id` = `<siteId>:<day>:<name>`.
 * Written only by the roll-up folder (jobs/rollup-folder.ts). `jobs` holds the contributions whose increment is
 * applied but not yet confirmed; it is empty at rest.
 */
export interface MetricsDailyDoc {
  _id: string;
  siteId: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  name: string;
  count: number;
  /** Distinct visitors that day (exact: one metrics_visitors document each). */
  visitors: number;
  /** Order events only. */
  orders: number;
  revenue: number;
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
    jobs: { type: [String], default: [] },
  },
  { collection: 'metrics_daily', versionKey: false, autoIndex: false, autoCreate: false },
);
metricsDailySchema.index({ siteId: 1, day: 1, name: 1 });

/** One document per (site, day, event name, visitor), `_id` = `<bucket>:<visitor>`; `job` = the ingest job that counted it. */
export interface MetricsVisitorDoc {
  _id: string;
  job: string;
}

const metricsVisitorSchema = new Schema<MetricsVisitorDoc>(
  { _id: { type: String, required: true }, job: { type: String, required: true } },
  { collection: 'metrics_visitors', versionKey: false, autoIndex: false, autoCreate: false },
);

/**
 * One ingest job's contribution to one bucket, `_id` = `<bucket>|<jobKey>`: written once by the job (a retry
 * finds it there), then folded into metrics_daily by the single roll-up folder, which marks it `folded`.
 */
export interface MetricsPendingDoc {
  _id: string;
  bucket: string;
  siteId: string;
  day: string;
  name: string;
  count: number;
  visitors: number;
  orders: number;
  revenue: number;
  state: 'pending' | 'folded';
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
    visitors: { type: Number, required: true },
    orders: { type: Number, required: true },
    revenue: { type: Number, required: true },
    state: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'metrics_pending', versionKey: false, autoIndex: false, autoCreate: false },
);
metricsPendingSchema.index({ state: 1, at: 1 });

export type MetricsDailyModel = Model<MetricsDailyDoc>;
export type MetricsVisitorModel = Model<MetricsVisitorDoc>;
export type MetricsPendingModel = Model<MetricsPendingDoc>;
export { metricsDailySchema, metricsPendingSchema, metricsVisitorSchema };
