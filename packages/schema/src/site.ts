import { type Static, Type } from 'typebox';
import { SiteIntegrations } from './integrations.js';
import { UrlParams } from './url-params.js';

/** What a browser's yes to e-mail counts for (see docs/api.md, The site). */
export const ConsentMode = Type.Union([Type.Literal('single'), Type.Literal('double'), Type.Literal('server')]);
export type ConsentMode = Static<typeof ConsentMode>;

/** `GET /api/site` and `PATCH /api/site`: the key's own site. */
export const Site = Type.Object({
  siteId: Type.String(),
  name: Type.String(),
  writeKey: Type.String(),
  allowedOrigins: Type.Array(Type.String()),
  consentMode: ConsentMode,
  /** IANA time zone of the site's days in the stats. */
  timezone: Type.String(),
  /** Days before an order in which a visit can be credited with it (revenue attribution); 30 by default. */
  attributionLookbackDays: Type.Integer(),
  /** Whether campaign and flow e-mails carry an open-tracking pixel (off by default; docs/campaigns.md). */
  emailOpenTracking: Type.Boolean(),
  /** Which query parameters the URLs the collector stores keep (docs/security.md, URLs). */
  urlParams: UrlParams,
  /** Which shop platforms' webhook secrets are set (docs/integrations.md). */
  integrations: SiteIntegrations,
  createdAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type Site = Static<typeof Site>;

/** `POST /api/site/rotate-key`: the new keys; secret keys appear here only. */
export const RotatedKeys = Type.Object({
  siteId: Type.String(),
  writeKey: Type.Optional(Type.String()),
  secretKey: Type.Optional(Type.String()),
  ingestKey: Type.Optional(Type.String()),
  /** When the replaced keys stop working, if the rotation gave them an overlap. */
  oldKeysValidUntil: Type.Optional(Type.String({ format: 'date-time' })),
});
export type RotatedKeys = Static<typeof RotatedKeys>;

/** `DELETE /api/site`: how many documents and queued jobs of each kind were deleted. */
export const SiteDeletion = Type.Object({
  siteId: Type.String(),
  deleted: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
});
export type SiteDeletion = Static<typeof SiteDeletion>;

/** A read-only stats key (`key`) or share link (`link`), as listed: never the key itself. */
export const StatsKeyView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('key'), Type.Literal('link')]),
  label: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type StatsKeyView = Static<typeof StatsKeyView>;

/** `POST /api/site/stats-keys`: the new key, shown in this answer only. */
export const CreatedStatsKey = Type.Intersect([StatsKeyView, Type.Object({ key: Type.String() })]);
export type CreatedStatsKey = Static<typeof CreatedStatsKey>;

/** `GET /api/site/stats-keys`. */
export const StatsKeyList = Type.Object({ keys: Type.Array(StatsKeyView) });
export type StatsKeyList = Static<typeof StatsKeyList>;
