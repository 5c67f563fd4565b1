import { type Static, Type } from 'typebox';

/** An outgoing webhook subscription: `/api/webhooks`. The secret shows only in the answer that created it. */
export const Webhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String(), { description: 'Event names delivered; "*" for all' }),
  active: Type.Boolean(),
  secret: Type.Optional(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Webhook = Static<typeof Webhook>;

export const WebhookList = Type.Object({ webhooks: Type.Array(Webhook) });
export type WebhookList = Static<typeof WebhookList>;

/** `POST /api/webhooks/:id/test` and `…/deliveries/:deliveryId/retry`: the delivery is queued. */
export const DeliveryQueued = Type.Object({
  queued: Type.Literal(true),
  deliveryId: Type.String({ description: 'X-TrackMate-Delivery of the POST, and `id` in its body' }),
});
export type DeliveryQueued = Static<typeof DeliveryQueued>;
