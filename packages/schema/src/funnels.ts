import { type Static, Type } from 'typebox';

/** What a funnel can break its steps down by: the visit's channel, country or device type at the first step. */
export const FUNNEL_BREAKDOWNS = ['channel', 'country', 'device'] as const;
export type FunnelBreakdown = (typeof FUNNEL_BREAKDOWNS)[number];

/** How steps follow each other: `sequential` — other activity allowed between them; `strict` — nothing between. */
export const FUNNEL_ORDERS = ['sequential', 'strict'] as const;
export type FunnelOrder = (typeof FUNNEL_ORDERS)[number];
const Order = Type.Union([Type.Literal('sequential'), Type.Literal('strict')]);

/** A conversion window: hours (`12h`) or days (`14d`), from 1 hour to 90 days. */
export const FunnelWindow = Type.String({
  pattern: '^[1-9][0-9]{0,4}[hd]$',
  description: 'Conversion window from the first step: 1h–2160h or 1d–90d; default 14d',
});

/** One step: an event name, optionally the page path it was sent on and one property's value. */
export const FunnelStepDefinition = Type.Object(
  {
    event: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'Event name' }),
    path: Type.Optional(
      Type.String({ pattern: '^/', maxLength: 500, description: 'Page path of the event (`properties.url`), exact' }),
    ),
    property: Type.Optional(
      Type.Object(
        {
          key: Type.String({
            pattern: '^(?!__proto__$|constructor$|prototype$)[A-Za-z_][A-Za-z0-9_-]{0,63}$',
            description: 'A top-level property',
          }),
          value: Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean()]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type FunnelStepDefinition = Static<typeof FunnelStepDefinition>;

/** A funnel: 2–8 ordered steps, a conversion window and an order mode. */
export const FunnelDefinition = Type.Object(
  {
    steps: Type.Array(FunnelStepDefinition, { minItems: 2, maxItems: 8 }),
    window: Type.Optional(FunnelWindow),
    order: Type.Optional(Order),
  },
  { additionalProperties: false },
);
export type FunnelDefinition = Static<typeof FunnelDefinition>;

/** One step's figures. */
export const FunnelStepResult = Type.Intersect([
  FunnelStepDefinition,
  Type.Object({
    /** People who reached this step in order within the window (a person counts once whatever the days). */
    visitors: Type.Integer(),
    /** visitors / visitors of the first step, 0–1 (null when nobody entered). */
    conversionRate: Type.Union([Type.Number(), Type.Null()]),
    /** visitors / visitors of the previous step (null for the first step or when the previous had nobody). */
    fromPrevious: Type.Union([Type.Number(), Type.Null()]),
    /** People of the previous step who did not reach this one (0 for the first step). */
    dropOff: Type.Integer(),
    /** Median seconds from the previous step to this one, over the people who reached it (null for the first). */
    medianSecondsFromPrevious: Type.Union([Type.Number(), Type.Null()]),
  }),
]);
export type FunnelStepResult = Static<typeof FunnelStepResult>;

/** `GET /api/stats/funnel`: people per step, from the site's events (bounded) or a saved funnel's state. */
export const FunnelResult = Type.Object({
  from: Type.String({ description: 'site-local day' }),
  to: Type.String({ description: 'site-local day' }),
  timezone: Type.String(),
  window: Type.String(),
  order: Type.String(),
  steps: Type.Array(FunnelStepResult),
  /** Last step's visitors / first step's. */
  conversionRate: Type.Union([Type.Number(), Type.Null()]),
  /** Median seconds from the first step to the last, over the people who converted. */
  medianSecondsToConvert: Type.Union([Type.Number(), Type.Null()]),
  /** Each step's visitors per value of the dimension at the person's first step (a person may be in two rows). */
  breakdown: Type.Optional(
    Type.Object({
      dimension: Type.String(),
      rows: Type.Array(Type.Object({ value: Type.String(), visitors: Type.Array(Type.Integer()) })),
    }),
  ),
  /** `events`: scanned now; `saved`: read from a saved funnel's pre-computed state. */
  computedFrom: Type.Union([Type.Literal('events'), Type.Literal('saved')]),
  /** The scan stopped at its bound: the figures are those of the first `limit` people who entered. */
  limited: Type.Boolean(),
  /** e.g. "limited to 10000 visitors" when `limited`. */
  notice: Type.Optional(Type.String()),
});
export type FunnelResult = Static<typeof FunnelResult>;

/** A saved funnel, as `/api/funnels` returns it. */
export const SavedFunnel = Type.Object({
  id: Type.String(),
  name: Type.String(),
  steps: Type.Array(FunnelStepDefinition),
  window: Type.String(),
  order: Order,
  /** `building` while the worker computes it from the stored events, then `ready`. */
  status: Type.Union([Type.Literal('building'), Type.Literal('ready')]),
  createdAt: Type.String({ format: 'date-time' }),
});
export type SavedFunnel = Static<typeof SavedFunnel>;

/** `POST /api/funnels` and `PUT /api/funnels/:id`. */
export const SavedFunnelInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    steps: Type.Array(FunnelStepDefinition, { minItems: 2, maxItems: 8 }),
    window: Type.Optional(FunnelWindow),
    order: Type.Optional(Order),
  },
  { additionalProperties: false },
);
export type SavedFunnelInput = Static<typeof SavedFunnelInput>;
