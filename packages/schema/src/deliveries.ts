import { type Static, Type } from 'typebox';

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const id = Type.String();
const status = Type.String({
  description: 'sent, failed (retried, or a dead letter after the last attempt) or skipped',
});
const target = Type.String({ description: 'The e-mail address or URL' });
/** The answer of an attempt, and when it was made. */
const outcome = {
  responseCode: nullable(Type.Integer()),
  latencyMs: nullable(Type.Number()),
  error: nullable(Type.String()),
  at: Type.String({ format: 'date-time' }),
};

/** One attempt of a trigger's action (`GET /api/triggers/:id/deliveries`). */
export const TriggerDelivery = Type.Object({
  id,
  kind: Type.String({ description: 'email or webhook' }),
  status,
  attempt: Type.Integer(),
  target,
  entryId: Type.Union([Type.String(), Type.Null()], { description: 'The trigger entry this send belongs to' }),
  ...outcome,
});
export type TriggerDelivery = Static<typeof TriggerDelivery>;

export const TriggerDeliveryList = Type.Object({ deliveries: Type.Array(TriggerDelivery) });
export type TriggerDeliveryList = Static<typeof TriggerDeliveryList>;

/** One attempt of a webhook subscription (`GET /api/webhooks/:id/deliveries`). */
export const WebhookDelivery = Type.Object({
  id,
  status,
  attempt: Type.Integer(),
  target,
  /** The delivered event's messageId (none for a test POST). */
  messageId: Type.Optional(nullable(Type.String())),
  ...outcome,
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const WebhookDeliveryList = Type.Object({ deliveries: Type.Array(WebhookDelivery) });
export type WebhookDeliveryList = Static<typeof WebhookDeliveryList>;

/** Either kind of attempt, as a deliveries log shows them. */
export type Delivery = TriggerDelivery | WebhookDelivery;
