import { Schema, type Types } from 'mongoose';

export type FilterOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists';

/** A condition on the entry event's properties; `property` may be a dotted path (`items.0.price`). */
export interface PropertyFilter {
  property: string;
  op: FilterOp;
  value?: string | number | boolean | null;
}

export type TriggerAction =
  | { type: 'email'; subject: string; body: string }
  | { type: 'webhook'; url: string; secret?: string };

/** A flow's step after its first: wait `delaySeconds` after the step before, then act. */
export interface FlowStep {
  delaySeconds: number;
  action: TriggerAction;
}

/**
 * A campaign trigger: an entry event (with property filters), a delay, exit events re-checked when the delay
 * ends, a re-entry rule and an action; a flow has further steps (a wait and an action each), the exit events
 * re-checked before each.
 */
export interface TriggerDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  name: string;
  active: boolean;
  entryEvent: string;
  filters: PropertyFilter[];
  delaySeconds: number;
  /** The visitor leaves the trigger when they do one of these between entering and the end of the delay. */
  exitEvents: string[];
  /** At most one entry per visitor per this many hours (0 = every matching event enters). */
  reentryHours: number;
  /** The audience: only members of this segment get the action (the others' entries are skipped). */
  segmentId?: Types.ObjectId | null;
  action: TriggerAction;
  /** The steps after the first, in order (absent or empty: a single-step trigger). */
  nextSteps?: FlowStep[];
  createdAt: Date;
  updatedAt: Date;
}

const triggerSchema = new Schema<TriggerDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    active: { type: Boolean, default: true },
    entryEvent: { type: String, required: true },
    filters: { type: Schema.Types.Mixed, default: [] },
    delaySeconds: { type: Number, required: true },
    exitEvents: { type: [String], default: [] },
    reentryHours: { type: Number, default: 0 },
    segmentId: { type: Schema.Types.ObjectId, default: null },
    action: { type: Schema.Types.Mixed, required: true },
    nextSteps: { type: Schema.Types.Mixed, default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'triggers', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
triggerSchema.index({ siteId: 1, active: 1, entryEvent: 1 });

export type EntryState = 'waiting' | 'exited' | 'sent' | 'skipped' | 'failed';

/**
 * One visitor's passage through a trigger, `_id` = `<triggerId>:<siteId>:<messageId of the entry event>`,
 * so entering twice for the same event is impossible. The delayed job acts only on a `waiting` entry.
 */
export interface TriggerEntryDoc {
  _id: string;
  siteId: Types.ObjectId;
  triggerId: Types.ObjectId;
  profileId: Types.ObjectId | null;
  anonymousId: string | null;
  event: { messageId: string; name: string; timestamp: Date; properties: Record<string, unknown> };
  /** Time of the entry event: exit events from then on count. */
  enteredAt: Date;
  fireAt: Date;
  /** The flow step whose wait is running (absent: the first, 0). */
  step?: number;
  state: EntryState;
  reason?: string;
  updatedAt: Date;
}

const triggerEntrySchema = new Schema<TriggerEntryDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    triggerId: { type: Schema.Types.ObjectId, required: true },
    profileId: { type: Schema.Types.ObjectId, default: null },
    anonymousId: { type: String, default: null },
    event: { type: Schema.Types.Mixed, required: true },
    enteredAt: { type: Date, required: true },
    fireAt: { type: Date, required: true },
    step: { type: Number },
    state: { type: String, required: true },
    reason: String,
    updatedAt: { type: Date, required: true },
  },
  { collection: 'trigger_entries', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
triggerEntrySchema.index({ triggerId: 1, state: 1 });

/** The re-entry guard: last entry of one visitor into one trigger, `_id` = `<triggerId>:<visitor>`. */
export interface TriggerVisitorDoc {
  _id: string;
  lastEnteredAt: Date;
  lastEntry: string;
}

const triggerVisitorSchema = new Schema<TriggerVisitorDoc>(
  {
    _id: { type: String, required: true },
    lastEnteredAt: { type: Date, required: true },
    lastEntry: { type: String, required: true },
  },
  { collection: 'trigger_visitors', versionKey: false, autoIndex: false, autoCreate: false },
);

export { triggerEntrySchema, triggerSchema, triggerVisitorSchema };
