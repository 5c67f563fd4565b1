import { type Static, type TSchema, Type } from 'typebox';
import { Email, EventName, FreeObject, Id, IsoDateTime, ObjectIdString, Phone, UserId } from './common.js';
import { LIMITS } from './limits.js';

const Str = (maxLength = 2048) => Type.String({ maxLength });
const Money = Type.Number({ minimum: 0 });
const open = { additionalProperties: true } as const;

/** Required properties of each standard client event (docs/api.md, Tracking). */
export const ActiveSiteProperties = Type.Object({ url: Str(), sessionId: Id }, open);
export const PageViewProperties = Type.Object({ url: Str(), referrer: Str(), title: Str(1024) }, open);
export const DeepScrollProperties = Type.Object({ percentage: Type.Number({ minimum: 0, maximum: 100 }) }, open);
export const ButtonClickProperties = Type.Object({ elementId: Str(256), text: Str(1024) }, open);
export const AddToCartProperties = Type.Object(
  { productId: Str(256), quantity: Type.Number({ exclusiveMinimum: 0 }), price: Money },
  open,
);
export const FormFields = Type.Object(
  {
    email: Type.Optional(Str(254)),
    firstName: Type.Optional(Str(200)),
    lastName: Type.Optional(Str(200)),
    phone: Type.Optional(Str(64)),
    accept_terms: Type.Optional(Type.Boolean()),
  },
  open,
);
export const FormSubmitProperties = Type.Object({ formId: Str(256), fields: FormFields }, open);
export const OrderItem = Type.Object({ productId: Str(256), amount: Money, tax: Money, discount: Money }, open);
export const OrderProductProperties = Type.Object(
  { orderId: Str(256), items: Type.Array(OrderItem, { minItems: 1, maxItems: 500 }) },
  open,
);
/** `identify`: an e-mail, a userId, or both (the check that one is there is made by the collector). */
export const IdentifyProperties = Type.Object(
  {
    email: Type.Optional(Email),
    userId: Type.Optional(UserId),
    firstName: Type.Optional(Str(200)),
    lastName: Type.Optional(Str(200)),
    phone: Type.Optional(Phone),
    consent: Type.Optional(Type.Boolean()),
  },
  open,
);

/** Standard client events: name → schema of its required properties. */
export const StandardEventProperties = {
  active_site: ActiveSiteProperties,
  page_view: PageViewProperties,
  deep_scroll: DeepScrollProperties,
  button_click: ButtonClickProperties,
  add_to_cart: AddToCartProperties,
  form_submit: FormSubmitProperties,
  order_product: OrderProductProperties,
  identify: IdentifyProperties,
} as const satisfies Record<string, TSchema>;

export type StandardEventName = keyof typeof StandardEventProperties;
export const STANDARD_EVENT_NAMES = Object.keys(StandardEventProperties) as StandardEventName[];

export type ActiveSiteProperties = Static<typeof ActiveSiteProperties>;
export type PageViewProperties = Static<typeof PageViewProperties>;
export type DeepScrollProperties = Static<typeof DeepScrollProperties>;
export type ButtonClickProperties = Static<typeof ButtonClickProperties>;
export type AddToCartProperties = Static<typeof AddToCartProperties>;
export type FormFields = Static<typeof FormFields>;
export type FormSubmitProperties = Static<typeof FormSubmitProperties>;
export type OrderItem = Static<typeof OrderItem>;
export type OrderProductProperties = Static<typeof OrderProductProperties>;
export type IdentifyProperties = Static<typeof IdentifyProperties>;

/** Properties by event name; custom events carry free-form properties. */
export interface StandardEventPropertiesMap {
  active_site: ActiveSiteProperties;
  page_view: PageViewProperties;
  deep_scroll: DeepScrollProperties;
  button_click: ButtonClickProperties;
  add_to_cart: AddToCartProperties;
  form_submit: FormSubmitProperties;
  order_product: OrderProductProperties;
  identify: IdentifyProperties;
}

/** The envelope every client event shares (docs/api.md). */
export const ClientEvent = Type.Object(
  {
    messageId: Id,
    name: EventName,
    timestamp: IsoDateTime,
    anonymousId: Id,
    sessionId: Type.Optional(Id),
    profileId: Type.Optional(ObjectIdString),
    properties: Type.Optional(FreeObject),
    context: Type.Optional(
      Type.Object(
        {
          page: Type.Optional(FreeObject),
          library: Type.Optional(Type.Object({ name: Str(64), version: Str(64) }, open)),
        },
        open,
      ),
    ),
    writeKey: Type.Optional(Type.String({ maxLength: 128 })),
    sentAt: Type.Optional(IsoDateTime),
  },
  { additionalProperties: false },
);
export type ClientEvent = Static<typeof ClientEvent>;

/** `POST /api/track/event` batch body. Items are validated one by one, so bad ones never sink good ones. */
export const ClientBatch = Type.Object(
  {
    writeKey: Type.Optional(Type.String({ maxLength: 128 })),
    sentAt: Type.Optional(IsoDateTime),
    batch: Type.Array(Type.Unknown(), { minItems: 1, maxItems: LIMITS.maxBatchEvents }),
  },
  { additionalProperties: false },
);
export type ClientBatch = Omit<Static<typeof ClientBatch>, 'batch'> & { batch: ClientEvent[] };

/** One rejected item of a request. */
export const RejectedItem = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  errors: Type.Array(Type.String()),
});
export type RejectedItem = Static<typeof RejectedItem>;

/** 202 answer of both track endpoints. */
export const TrackAccepted = Type.Object({
  accepted: Type.Integer({ minimum: 0 }),
  rejected: Type.Array(RejectedItem),
});
export type TrackAccepted = Static<typeof TrackAccepted>;

/** Every error answer: a stable code, the HTTP status, a human reason. */
export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  rejected: Type.Optional(Type.Array(RejectedItem)),
});
export type ErrorReply = Static<typeof ErrorReply>;

export { Email, Phone };
