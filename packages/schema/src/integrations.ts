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
