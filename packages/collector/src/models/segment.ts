import { Schema, type Types } from 'mongoose';

/** A condition on the profile: its e-mail, consent, country, first touch, tags or a metadata key. */
export interface ProfileRule {
  type: 'profile';
  /** `email`, `consent`, `country`, `firstTouch.source|channel|medium|campaign`, `tags`, `metadata.<key>`. */
  field: string;
  op: 'eq' | 'ne' | 'exists' | 'notExists' | 'gt' | 'gte' | 'lt' | 'lte';
  value?: string | number | boolean;
}

/** Did (or did not) do an event at least `atLeast` times, ever or in the last `withinDays` UTC days. */
export interface EventRule {
  type: 'event';
  event: string;
  did: boolean;
  atLeast: number;
  withinDays?: number;
}

/** Orders or revenue (in one currency), all time, compared with a number. */
export interface ValueRule {
  type: 'value';
  metric: 'orders' | 'revenue';
  currency?: string;
  op: 'gte' | 'gt' | 'lte' | 'lt' | 'eq';
  value: number;
}

export type SegmentRule = ProfileRule | EventRule | ValueRule;

export interface SegmentDefinition {
  /** `all`: every rule holds; `any`: at least one does. */
  match: 'all' | 'any';
  rules: SegmentRule[];
}

/** A saved audience. Its members live in Redis (segments/membership.ts), kept current by the worker. */
export interface SegmentDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  name: string;
  definition: SegmentDefinition;
  /** Set when a full evaluation of every profile ends (`null` while the first one runs). */
  evaluatedAt: Date | null;
  /** The UTC day (`YYYYMMDD`) of the last full evaluation: rules with a day window change at midnight. */
  evaluatedDay: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const segmentSchema = new Schema<SegmentDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    definition: { type: Schema.Types.Mixed, required: true },
    evaluatedAt: { type: Date, default: null },
    evaluatedDay: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'segments', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
segmentSchema.index({ siteId: 1 });

export { segmentSchema };
