import { type Static, Type } from 'typebox';

/** How a trigger filter compares the property with its value. */
export const TriggerFilterOp = Type.Union([
  Type.Literal('eq'),
  Type.Literal('ne'),
  Type.Literal('gt'),
  Type.Literal('gte'),
  Type.Literal('lt'),
  Type.Literal('lte'),
  Type.Literal('exists'),
]);
export type TriggerFilterOp = Static<typeof TriggerFilterOp>;

/** A condition on the entry event's properties; `property` may be a dotted path (`items.0.price`). */
export const TriggerFilter = Type.Object({
  property: Type.String(),
  op: TriggerFilterOp,
  value: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
});
export type TriggerFilter = Static<typeof TriggerFilter>;

/** A trigger's action as the API shows it: a webhook's secret only in the answer that created the trigger. */
export const TriggerActionView = Type.Union([
  Type.Object({ type: Type.Literal('email'), subject: Type.String(), body: Type.String() }),
  Type.Object({
    type: Type.Literal('webhook'),
    url: Type.String(),
    /** Every trigger webhook is signed; false only for one stored before that was so. */
    signed: Type.Boolean(),
    secret: Type.Optional(Type.String()),
  }),
]);
export type TriggerActionView = Static<typeof TriggerActionView>;

/** A step of a flow after its first: wait `delaySeconds` after the step before, then act. */
export const FlowStepView = Type.Object({
  delaySeconds: Type.Integer(),
  action: TriggerActionView,
});
export type FlowStepView = Static<typeof FlowStepView>;

/** A campaign trigger (a Flow in the console): `/api/triggers`. */
export const Trigger = Type.Object({
  id: Type.String(),
  name: Type.String(),
  active: Type.Boolean(),
  entryEvent: Type.String(),
  filters: Type.Array(TriggerFilter),
  delaySeconds: Type.Integer(),
  exitEvents: Type.Array(Type.String()),
  reentryHours: Type.Number(),
  /** The audience segment: only its members get the action. Absent: everyone who enters. */
  segmentId: Type.Optional(Type.String()),
  action: TriggerActionView,
  /** The flow's further steps, in order, each after the one before (empty: a single-step trigger). */
  nextSteps: Type.Array(FlowStepView),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Trigger = Static<typeof Trigger>;

export const TriggerList = Type.Object({ triggers: Type.Array(Trigger) });
export type TriggerList = Static<typeof TriggerList>;
