import { Schema, type Types } from 'mongoose';

/** One step of a saved funnel (the API's FunnelStepDefinition). */
export interface FunnelStepDoc {
  event: string;
  path?: string;
  property?: { key: string; value: string | number | boolean };
}

/** A saved funnel (`/api/funnels`), kept current by the ingest worker (funnels/funnel-progress.ts). */
export interface FunnelDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  name: string;
  steps: FunnelStepDoc[];
  window: string;
  order: 'sequential' | 'strict';
  /** `building` while the stored events are replayed into it, then `ready`. */
  status: 'building' | 'ready';
  createdAt: Date;
}

const funnelSchema = new Schema<FunnelDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    steps: { type: Schema.Types.Mixed, required: true },
    window: { type: String, required: true },
    order: { type: String, required: true },
    status: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'funnels', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
funnelSchema.index({ siteId: 1 });

/**
 * One of a person's funnel events: time `t`, step mask `m`, message id `i`, and at a first step the channel `c`,
 * country `g` and device `d` (objects, not tuples: FerretDB stores no nested arrays).
 */
export interface FunnelPersonEvent {
  t: number;
  m: number;
  i: string;
  c?: string;
  g?: string;
  d?: string;
}

/** What one site-local day's attempts of a person reached: steps, seconds between steps, and per breakdown value. */
export interface FunnelDayOutcome {
  reached: number;
  /** Whole seconds from each step to the next of the best attempt (reached − 1 of them). */
  gaps: number[];
  /** Whole seconds from the first step to the last, when the attempt converted. */
  convert?: number;
  /** Per breakdown dimension, value → steps reached from attempts that started with it. */
  by: Record<string, Record<string, number>>;
}

/**
 * A person's progress in a saved funnel, kept in Redis beside the funnel's bitmaps (funnels/funnel-progress.ts):
 * `events` are the person's events that matter to the funnel (first ones dropped past a cap; days before
 * `frozenBefore` then keep their outcome); `days` what each day's attempts reached.
 */
export interface FunnelPersonState {
  events: FunnelPersonEvent[];
  days: Record<string, FunnelDayOutcome>;
  frozenBefore: number;
}

export { funnelSchema };
