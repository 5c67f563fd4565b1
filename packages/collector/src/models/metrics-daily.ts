import { type Model, Schema } from 'mongoose';

/**
 * Pre-computed roll-up, one document per (site, UTC day, event name), `_id` = `<siteId>:<day>:<name>`.
 * `jobs` holds the ingest jobs whose increments are applied but not yet confirmed (see jobs/rollups.ts); it
 * is empty at rest.
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

/** Ingest jobs whose roll-up increments are applied (kept so that a retry of the job never applies them again). */
export interface RollupJobDoc {
  _id: string;
  at: Date;
}

const rollupJobSchema = new Schema<RollupJobDoc>(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'rollup_jobs', versionKey: false, autoIndex: false, autoCreate: false },
);

export type MetricsDailyModel = Model<MetricsDailyDoc>;
export type MetricsVisitorModel = Model<MetricsVisitorDoc>;
export type RollupJobModel = Model<RollupJobDoc>;
export { metricsDailySchema, metricsVisitorSchema, rollupJobSchema };
