import { type Static, Type } from 'typebox';

/** The shop platforms whose order webhooks a site can receive (`POST /api/hooks/<platform>/<siteId>`). */
export const PLATFORMS = ['shopify', 'woocommerce', 'stripe'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Whether a platform's webhook secret is set for a site, and since when (never the secret). */
export const IntegrationState = Type.Object({
  secretSet: Type.Boolean(),
  setAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type IntegrationState = Static<typeof IntegrationState>;

export const SiteIntegrations = Type.Object({
  shopify: IntegrationState,
  woocommerce: IntegrationState,
  stripe: IntegrationState,
});
export type SiteIntegrations = Static<typeof SiteIntegrations>;

/**
 * `POST /api/hooks/:platform/:siteId`: what became of the delivery — `accepted` (its events are queued),
 * `duplicate` (stored already), `ignored` (acknowledged, nothing to store) or `ping` — and how many events it
 * queued.
 */
export const HookReply = Type.Object({
  outcome: Type.Union([
    Type.Literal('accepted'),
    Type.Literal('duplicate'),
    Type.Literal('ignored'),
    Type.Literal('ping'),
  ]),
  events: Type.Integer({ minimum: 0 }),
  reason: Type.Optional(Type.String()),
});
export type HookReply = Static<typeof HookReply>;

/** One delivery of a platform as the console shows it: ids, topic, outcome and reason, never the payload. */
export const PlatformDelivery = Type.Object({
  at: Type.String({ format: 'date-time' }),
  topic: Type.String(),
  outcome: Type.Union([
    Type.Literal('accepted'),
    Type.Literal('duplicate'),
    Type.Literal('ignored'),
    Type.Literal('ping'),
    Type.Literal('refused'),
    Type.Literal('rejected'),
  ]),
  status: Type.Integer(),
  orderId: Type.Optional(Type.String()),
  events: Type.Optional(Type.Integer({ minimum: 0 })),
  reason: Type.Optional(Type.String()),
});
export type PlatformDelivery = Static<typeof PlatformDelivery>;

/** `GET /api/integrations`: per platform, the webhook URL, the secret's state, counts per outcome, last deliveries. */
export const Integrations = Type.Object({
  platforms: Type.Array(
    Type.Object({
      platform: Type.Union([Type.Literal('shopify'), Type.Literal('woocommerce'), Type.Literal('stripe')]),
      url: Type.String(),
      secretSet: Type.Boolean(),
      setAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
      deliveries: Type.Array(PlatformDelivery),
    }),
  ),
});
export type Integrations = Static<typeof Integrations>;
