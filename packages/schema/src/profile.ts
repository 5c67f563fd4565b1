import { type Static, Type } from 'typebox';
import { Email, FreeObject, Id, ObjectIdString, Phone, UserId } from './common.js';

export const ConsentChange = Type.Object({
  email: Type.Boolean(),
  at: Type.String({ format: 'date-time' }),
  source: Type.Union([
    Type.Literal('form'),
    Type.Literal('identify'),
    Type.Literal('api'),
    Type.Literal('server'),
    Type.Literal('unsubscribe'),
    Type.Literal('confirmation'),
  ]),
});
export type ConsentChange = Static<typeof ConsentChange>;

/** A profile as the API returns it (docs/api.md, Profiles). */
export const Profile = Type.Object({
  id: ObjectIdString,
  siteId: Type.String(),
  /** Absent for a profile known only by its userId. */
  email: Type.Optional(Email),
  userId: Type.Optional(UserId),
  firstName: Type.Optional(Type.String()),
  lastName: Type.Optional(Type.String()),
  phone: Type.Optional(Phone),
  consent: Type.Object({
    email: Type.Boolean(),
    /** When the decision in force was made (absent until one was). */
    updatedAt: Type.Optional(Type.String({ format: 'date-time' })),
  }),
  /** Every consent decision recorded, oldest first: what, when and through which channel. */
  consentHistory: Type.Optional(Type.Array(ConsentChange)),
  metadata: Type.Optional(FreeObject),
  /**
   * An e-mail address a browser (the public write key) claimed for this userId, not confirmed by a backend:
   * shown, never used to merge profiles, move an address or send e-mail.
   */
  unverifiedEmail: Type.Optional(Type.Object({ email: Email, at: Type.String({ format: 'date-time' }) })),
  anonymousIds: Type.Array(Id),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Profile = Static<typeof Profile>;

/** `GET /api/profiles`: one page, newest first; pass `nextCursor` as `?cursor=` for the next. */
export const ProfilePage = Type.Object({
  profiles: Type.Array(Profile),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type ProfilePage = Static<typeof ProfilePage>;

/** A stored event as the profile API returns it. */
export const StoredEvent = Type.Object({
  id: ObjectIdString,
  messageId: Type.String(),
  name: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  receivedAt: Type.String({ format: 'date-time' }),
  profileId: Type.Union([ObjectIdString, Type.Null()]),
  anonymousId: Type.Union([Type.String(), Type.Null()]),
  sessionId: Type.Union([Type.String(), Type.Null()]),
  source: Type.String(),
  properties: FreeObject,
  context: Type.Optional(FreeObject),
  /** Problems found but accepted, e.g. `order_total_mismatch`. */
  flags: Type.Optional(Type.Array(Type.String())),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
});
export type StoredEvent = Static<typeof StoredEvent>;

/** `GET /api/profiles/:id/events`: one page, newest first. */
export const EventPage = Type.Object({
  events: Type.Array(StoredEvent),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type EventPage = Static<typeof EventPage>;

/** `GET /api/profiles/:id/export`: everything held about one person. */
export const ProfileExport = Type.Object({
  exportedAt: Type.String({ format: 'date-time' }),
  profile: Profile,
  /** Every event of the person: identified ones and the anonymous history of their visitor ids. */
  events: Type.Array(StoredEvent),
});
export type ProfileExport = Static<typeof ProfileExport>;

/** `DELETE /api/profiles/:id`: what the erasure removed. */
export const ProfileErasure = Type.Object({
  deleted: Type.Object({
    profiles: Type.Integer({ minimum: 0 }),
    events: Type.Integer({ minimum: 0 }),
    identities: Type.Integer({ minimum: 0 }),
    /** Pending and past campaign-trigger entries of the person (no delayed send goes out after erasure). */
    triggerEntries: Type.Integer({ minimum: 0 }),
    /** Records of e-mails sent to the person's address. */
    deliveries: Type.Integer({ minimum: 0 }),
    /** Dead letters holding the person's events or e-mail address. */
    deadLetters: Type.Integer({ minimum: 0 }),
    /** Re-entry guards of campaign triggers keyed by the person's ids. */
    triggerVisitors: Type.Integer({ minimum: 0 }),
    /** The person's events taken out of ingest jobs still in Redis (waiting, delayed, failed). */
    queuedEvents: Type.Integer({ minimum: 0 }),
    /** Webhook deliveries still in Redis whose body names the person. */
    queuedDeliveries: Type.Integer({ minimum: 0 }),
  }),
});
export type ProfileErasure = Static<typeof ProfileErasure>;

/** `PATCH /api/profiles/:id` body; `null` clears a name or the phone. */
export const ProfilePatch = Type.Object(
  {
    firstName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    lastName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    phone: Type.Optional(Type.Union([Phone, Type.Null()])),
    consent: Type.Optional(Type.Object({ email: Type.Boolean() }, { additionalProperties: false })),
    /** Merged into the stored metadata key by key; a `null` value removes its key (JSON merge patch). */
    metadata: Type.Optional(FreeObject),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ProfilePatch = Static<typeof ProfilePatch>;
