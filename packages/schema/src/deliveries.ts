import { type Static, Type } from 'typebox';

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** What every recorded e-mail or webhook attempt shows. */
const attempt = {
  id: Type.String(),
  status: Type.String({ description: 'sent, failed (retried, or a dead letter after the last attempt) or skipped' }),
  attempt: Type.Integer(),
  target: Type.String({ description: 'The e-mail address or URL' }),
  responseCode: nullable(Type.Integer()),
  latencyMs: nullable(Type.Number()),
  error: nullable(Type.String()),
  at: Type.String({ format: 'date-time' }),
};

/** One attempt of a trigger's action (`GET /api/triggers/:id/deliveries`). */
export const TriggerDelivery = Type.Object({
  ...attempt,
  kind: Type.String({ description: 'email or webhook' }),
  entryId: Type.Union([Type.String(), Type.Null()], { description: 'The trigger entry this send belongs to' }),
});
export type TriggerDelivery = Static<typeof TriggerDelivery>;

export const TriggerDeliveryList = Type.Object({ deliveries: Type.Array(TriggerDelivery) });
export type TriggerDeliveryList = Static<typeof TriggerDeliveryList>;

/** One attempt of a webhook subscription (`GET /api/webhooks/:id/deliveries`). */
export const WebhookDelivery = Type.Object({
  ...attempt,
  /** The delivered event's messageId (none for a test POST). */
  messageId: Type.Optional(nullable(Type.String())),
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const WebhookDeliveryList = Type.Object({ deliveries: Type.Array(WebhookDelivery) });
export type WebhookDeliveryList = Static<typeof WebhookDeliveryList>;

/** Either kind of attempt, as a deliveries log shows them. */
export type Delivery = TriggerDelivery | WebhookDelivery;
