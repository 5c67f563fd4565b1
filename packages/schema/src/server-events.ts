import { type Static, Type } from 'typebox';
import { Email, EventName, FreeObject, Id, IsoDateTime, ObjectIdString, Phone, UserId } from './common.js';
import { LIMITS } from './limits.js';

const Str = (maxLength = 512) => Type.String({ maxLength });
const Money = Type.Number({ minimum: 0 });

export const Address = Type.Object(
  { street: Str(), city: Str(200), postcode: Str(32), country: Type.String({ minLength: 2, maxLength: 2 }) },
  { additionalProperties: true },
);
export type Address = Static<typeof Address>;

/** What a backend may send about a person besides the e-mail: the userId (a second key) and the traits. */
const besidesEmail = {
  userId: Type.Optional(UserId),
  firstName: Type.Optional(Str(200)),
  lastName: Type.Optional(Str(200)),
  phone: Type.Optional(Phone),
  consent: Type.Optional(Type.Object({ email: Type.Boolean() })),
};

/** The person an order is about: found by e-mail (required), and by userId when given. */
export const ServerProfile = Type.Object({ email: Email, ...besidesEmail }, { additionalProperties: false });
export type ServerProfile = Static<typeof ServerProfile>;

/** The person a generic server event creates or updates: keyed by e-mail, userId or both (one is required). */
export const ServerIdentity = Type.Object(
  { email: Type.Optional(Email), ...besidesEmail },
  { additionalProperties: false },
);
export type ServerIdentity = Static<typeof ServerIdentity>;

export const ServerOrderItem = Type.Object(
  { name: Str(), sku: Str(128), amount: Money, tax: Money, discount: Money },
  { additionalProperties: true },
);
export type ServerOrderItem = Static<typeof ServerOrderItem>;

/** The `order_placed` server payload (docs/api.md, Server events). */
export const OrderPlacedEvent = Type.Object(
  {
    event: Type.Literal('order_placed'),
    messageId: Type.Optional(Id),
    orderId: Str(256),
    profile: ServerProfile,
    shippingAddress: Type.Optional(Address),
    billingAddress: Type.Optional(Address),
    items: Type.Array(ServerOrderItem, { minItems: 1, maxItems: 500 }),
    orderTotal: Money,
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
    timestamp: Type.Optional(IsoDateTime),
  },
  { additionalProperties: false },
);
export type OrderPlacedEvent = Static<typeof OrderPlacedEvent>;

/** Any other named server event, linked to a profile by e-mail, profileId or an embedded profile. */
export const GenericServerEvent = Type.Object(
  {
    event: EventName,
    messageId: Type.Optional(Id),
    timestamp: Type.Optional(IsoDateTime),
    profile: Type.Optional(ServerIdentity),
    email: Type.Optional(Email),
    userId: Type.Optional(UserId),
    profileId: Type.Optional(ObjectIdString),
    anonymousId: Type.Optional(Id),
    properties: Type.Optional(FreeObject),
  },
  { additionalProperties: false },
);
export type GenericServerEvent = Static<typeof GenericServerEvent>;

export type ServerEvent = OrderPlacedEvent | GenericServerEvent;

/** `POST /api/track/server-event` batch body. */
export const ServerBatch = Type.Object(
  { batch: Type.Array(Type.Unknown(), { minItems: 1, maxItems: LIMITS.maxBatchEvents }) },
  { additionalProperties: false },
);
export type ServerBatch = { batch: ServerEvent[] };
