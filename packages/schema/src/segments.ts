import { type Static, Type } from 'typebox';
import { EventName, ObjectIdString } from './common.js';

/** The profile fields a segment rule may name, besides `metadata.<key>` (a key, or a dotted path into metadata). */
export const SEGMENT_PROFILE_FIELDS = [
  'email',
  'consent',
  'country',
  'tags',
  'firstTouch.source',
  'firstTouch.channel',
  'firstTouch.medium',
  'firstTouch.campaign',
] as const;

/** Longest window of an event rule, in days (the per-day counts each profile keeps). */
export const SEGMENT_MAX_DAYS = 90;

/**
 * A condition on the profile. `tags` holds when `metadata.tags` contains the value (`eq`) or does not (`ne`);
 * `consent` is the e-mail consent (boolean); `country` and `firstTouch.*` come from the person's events.
 */
export const SegmentProfileRule = Type.Object(
  {
    type: Type.Literal('profile'),
    field: Type.String({
      pattern:
        '^(email|consent|country|tags|firstTouch\\.(source|channel|medium|campaign)|metadata(\\.[A-Za-z0-9_]{1,64}){1,4})$',
      description: `${SEGMENT_PROFILE_FIELDS.join(', ')} or metadata.<key>`,
    }),
    op: Type.Union([
      Type.Literal('eq'),
      Type.Literal('ne'),
      Type.Literal('exists'),
      Type.Literal('notExists'),
      Type.Literal('gt'),
      Type.Literal('gte'),
      Type.Literal('lt'),
      Type.Literal('lte'),
    ]),
    value: Type.Optional(Type.Union([Type.String({ maxLength: 1_000 }), Type.Number(), Type.Boolean()])),
  },
  { additionalProperties: false },
);

/** Did (`did: true`) or did not do an event at least `atLeast` times, ever or in the last `withinDays` UTC days. */
export const SegmentEventRule = Type.Object(
  {
    type: Type.Literal('event'),
    event: EventName,
    did: Type.Optional(Type.Boolean({ description: 'false: did not (default true)' })),
    atLeast: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'default 1' })),
    withinDays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: SEGMENT_MAX_DAYS, description: 'Today and the days before it (UTC)' }),
    ),
  },
  { additionalProperties: false },
);

/** Orders (placed by a server) or revenue in one currency, all time, compared with a number. */
export const SegmentValueRule = Type.Object(
  {
    type: Type.Literal('value'),
    metric: Type.Union([Type.Literal('orders'), Type.Literal('revenue')]),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217; required for revenue' })),
    op: Type.Union([
      Type.Literal('gte'),
      Type.Literal('gt'),
      Type.Literal('lte'),
      Type.Literal('lt'),
      Type.Literal('eq'),
    ]),
    value: Type.Number(),
  },
  { additionalProperties: false },
);

export const SegmentRule = Type.Union([SegmentProfileRule, SegmentEventRule, SegmentValueRule]);
export type SegmentRule = Static<typeof SegmentRule>;

/** `all`: every rule holds; `any`: at least one does. */
export const SegmentDefinition = Type.Object(
  {
    match: Type.Union([Type.Literal('all'), Type.Literal('any')]),
    rules: Type.Array(SegmentRule, { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);
export type SegmentDefinition = Static<typeof SegmentDefinition>;

/** `POST /api/segments`. */
export const SegmentInput = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), definition: SegmentDefinition },
  { additionalProperties: false },
);
export type SegmentInput = Static<typeof SegmentInput>;

/** `PATCH /api/segments/:id`. */
export const SegmentPatch = Type.Partial(
  Type.Object({ name: SegmentInput.properties.name, definition: SegmentDefinition }),
  { additionalProperties: false },
);
export type SegmentPatch = Static<typeof SegmentPatch>;

/** `POST /api/segments/preview`: a definition being edited, not saved. */
export const SegmentPreviewInput = Type.Object({ definition: SegmentDefinition }, { additionalProperties: false });
export type SegmentPreviewInput = Static<typeof SegmentPreviewInput>;

/** How many profiles a definition matches now, before it is saved. */
export const SegmentPreview = Type.Object({
  count: Type.Integer({ description: 'Profiles that match (of those read: all of them when `complete`)' }),
  /** False when the preview stopped before the site's last profile (20,000 read, or 3 s): the count is of those read. */
  complete: Type.Boolean(),
  scanned: Type.Integer({ description: 'Profiles read' }),
});
export type SegmentPreview = Static<typeof SegmentPreview>;

/** A saved audience (a Segment in the console): `/api/segments`. */
export const Segment = Type.Object({
  id: ObjectIdString,
  name: Type.String(),
  definition: SegmentDefinition,
  /** Members now (kept current as events arrive). */
  count: Type.Integer(),
  /** True until the first evaluation of every profile has ended (the count is still growing). */
  evaluating: Type.Boolean(),
  evaluatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Segment = Static<typeof Segment>;

export const SegmentList = Type.Object({ segments: Type.Array(Segment) });
export type SegmentList = Static<typeof SegmentList>;

/** One member as the member list shows them. */
export const SegmentMember = Type.Object({
  id: ObjectIdString,
  email: Type.Union([Type.String(), Type.Null()]),
  firstName: Type.Union([Type.String(), Type.Null()]),
  lastName: Type.Union([Type.String(), Type.Null()]),
  consent: Type.Boolean(),
  country: Type.Union([Type.String(), Type.Null()]),
  lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  orders: Type.Integer(),
  revenue: Type.Record(Type.String(), Type.Number()),
});
export type SegmentMember = Static<typeof SegmentMember>;

/** `GET /api/segments/:id/members`: one page in profile-id order; pass `nextCursor` as `?cursor=`. */
export const SegmentMemberPage = Type.Object({
  count: Type.Integer(),
  members: Type.Array(SegmentMember),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type SegmentMemberPage = Static<typeof SegmentMemberPage>;
