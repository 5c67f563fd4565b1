import { type Static, Type } from 'typebox';
import { Email, FreeObject, Id, ObjectIdString, Phone } from './common.js';

export const ConsentChange = Type.Object({
  email: Type.Boolean(),
  at: Type.String({ format: 'date-time' }),
  source: Type.Union([Type.Literal('form'), Type.Literal('identify'), Type.Literal('api'), Type.Literal('server'), Type.Literal('unsubscribe')]),
});
export type ConsentChange = Static<typeof ConsentChange>;

/** A profile as the API returns it (specification section 4.1). */
export const Profile = Type.Object({
  id: ObjectIdString,
  siteId: Type.String(),
  email: Email,
  firstName: Type.Optional(Type.String()),
  lastName: Type.Optional(Type.String()),
  phone: Type.Optional(Phone),
  consent: Type.Object({ email: Type.Boolean() }),
  metadata: Type.Optional(FreeObject),
  anonymousIds: Type.Array(Id),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Profile = Static<typeof Profile>;

/** `PATCH /api/profiles/:id` body. */
export const ProfilePatch = Type.Object(
  {
    firstName: Type.Optional(Type.String({ maxLength: 200 })),
    lastName: Type.Optional(Type.String({ maxLength: 200 })),
    phone: Type.Optional(Type.Union([Phone, Type.Null()])),
    consent: Type.Optional(Type.Object({ email: Type.Boolean() }, { additionalProperties: false })),
    metadata: Type.Optional(FreeObject),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ProfilePatch = Static<typeof ProfilePatch>;
