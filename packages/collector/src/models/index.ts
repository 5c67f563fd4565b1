import type { Connection, Model } from 'mongoose';
import {
  type CampaignClaimDoc,
  type CampaignDoc,
  type CampaignSendDoc,
  campaignClaimSchema,
  campaignSchema,
  campaignSendSchema,
} from './campaign.js';
import { type DeadLetterDoc, deadLetterSchema } from './dead-letter.js';
import { type DeliveryDoc, deliverySchema } from './delivery.js';
import { type EventDoc, eventSchema } from './event.js';
import { type FunnelDoc, funnelSchema } from './funnel.js';
import {
  type IdentityDoc,
  identitySchema,
  type LinkQuotaDoc,
  linkQuotaSchema,
  type PendingAliasDoc,
  type ProfileMergeDoc,
  pendingAliasSchema,
  profileMergeSchema,
  type UnlinkedVisitorDoc,
  unlinkedVisitorSchema,
} from './identity.js';
import { createUniqueIndexes, servesSecondaryIndexes } from './index-plan.js';
import {
  type MetricsDailyDoc,
  type MetricsFoldedDoc,
  type MetricsPendingDoc,
  metricsDailySchema,
  metricsFoldedSchema,
  metricsPendingSchema,
} from './metrics-daily.js';
import { type ProfileDoc, profileSchema } from './profile.js';
import { type ProfileFactsDoc, profileFactsSchema } from './profile-facts.js';
import { migrateProfileKeys } from './profile-keys.js';
import { type SegmentDoc, segmentSchema } from './segment.js';
import { type SettingDoc, settingSchema } from './setting.js';
import { type SiteDoc, siteSchema } from './site.js';
import { type SuppressionDoc, suppressionSchema } from './suppression.js';
import {
  type TriggerDoc,
  type TriggerEntryDoc,
  type TriggerVisitorDoc,
  triggerEntrySchema,
  triggerSchema,
  triggerVisitorSchema,
} from './trigger.js';
import { type StatsBlockDoc, statsBlockSchema, type VisitDoc, visitSchema } from './visit.js';
import { type WebhookDoc, webhookSchema } from './webhook.js';

/**
 * Every collection as a typed mongoose model. All reads and writes go through these (queries with `.lean()`,
 * `insertMany` with `lean: true` on hot paths, `bulkWrite`), so documents are typed by their schema and
 * filters are cast by it; nothing reaches around them to the driver.
 */
export interface Models {
  Site: Model<SiteDoc>;
  Profile: Model<ProfileDoc>;
  ProfileFacts: Model<ProfileFactsDoc>;
  Segment: Model<SegmentDoc>;
  Campaign: Model<CampaignDoc>;
  CampaignSend: Model<CampaignSendDoc>;
  CampaignClaim: Model<CampaignClaimDoc>;
  Event: Model<EventDoc>;
  Identity: Model<IdentityDoc>;
  PendingAlias: Model<PendingAliasDoc>;
  ProfileMerge: Model<ProfileMergeDoc>;
  UnlinkedVisitor: Model<UnlinkedVisitorDoc>;
  LinkQuota: Model<LinkQuotaDoc>;
  DeadLetter: Model<DeadLetterDoc>;
  MetricsDaily: Model<MetricsDailyDoc>;
  MetricsPending: Model<MetricsPendingDoc>;
  MetricsFolded: Model<MetricsFoldedDoc>;
  Trigger: Model<TriggerDoc>;
  TriggerEntry: Model<TriggerEntryDoc>;
  TriggerVisitor: Model<TriggerVisitorDoc>;
  Webhook: Model<WebhookDoc>;
  Delivery: Model<DeliveryDoc>;
  Setting: Model<SettingDoc>;
  Suppression: Model<SuppressionDoc>;
  Visit: Model<VisitDoc>;
  StatsBlock: Model<StatsBlockDoc>;
  Funnel: Model<FunnelDoc>;
}

/** Binds every model to one connection (one database per installation, or per test). */
export function createModels(conn: Connection): Models {
  return {
    Site: conn.model<SiteDoc>('Site', siteSchema),
    Profile: conn.model<ProfileDoc>('Profile', profileSchema),
    ProfileFacts: conn.model<ProfileFactsDoc>('ProfileFacts', profileFactsSchema),
    Segment: conn.model<SegmentDoc>('Segment', segmentSchema),
    Campaign: conn.model<CampaignDoc>('Campaign', campaignSchema),
    CampaignSend: conn.model<CampaignSendDoc>('CampaignSend', campaignSendSchema),
    CampaignClaim: conn.model<CampaignClaimDoc>('CampaignClaim', campaignClaimSchema),
    Event: conn.model<EventDoc>('Event', eventSchema),
    Identity: conn.model<IdentityDoc>('Identity', identitySchema),
    PendingAlias: conn.model<PendingAliasDoc>('PendingAlias', pendingAliasSchema),
    ProfileMerge: conn.model<ProfileMergeDoc>('ProfileMerge', profileMergeSchema),
    UnlinkedVisitor: conn.model<UnlinkedVisitorDoc>('UnlinkedVisitor', unlinkedVisitorSchema),
    LinkQuota: conn.model<LinkQuotaDoc>('LinkQuota', linkQuotaSchema),
    DeadLetter: conn.model<DeadLetterDoc>('DeadLetter', deadLetterSchema),
    MetricsDaily: conn.model<MetricsDailyDoc>('MetricsDaily', metricsDailySchema),
    MetricsPending: conn.model<MetricsPendingDoc>('MetricsPending', metricsPendingSchema),
    MetricsFolded: conn.model<MetricsFoldedDoc>('MetricsFolded', metricsFoldedSchema),
    Trigger: conn.model<TriggerDoc>('Trigger', triggerSchema),
    TriggerEntry: conn.model<TriggerEntryDoc>('TriggerEntry', triggerEntrySchema),
    TriggerVisitor: conn.model<TriggerVisitorDoc>('TriggerVisitor', triggerVisitorSchema),
    Webhook: conn.model<WebhookDoc>('Webhook', webhookSchema),
    Delivery: conn.model<DeliveryDoc>('Delivery', deliverySchema),
    Setting: conn.model<SettingDoc>('Setting', settingSchema),
    Suppression: conn.model<SuppressionDoc>('Suppression', suppressionSchema),
    Visit: conn.model<VisitDoc>('Visit', visitSchema),
    StatsBlock: conn.model<StatsBlockDoc>('StatsBlock', statsBlockSchema),
    Funnel: conn.model<FunnelDoc>('Funnel', funnelSchema),
  };
}

/** Models of what earlier versions stored and this one only reads once (see metrics-daily.ts): never created. */
const LEGACY: ReadonlySet<string> = new Set(['MetricsPending', 'MetricsFolded']);

/**
 * Creates collections and indexes; idempotent (`trackmate-collector migrate`, also run at start). A server that
 * reads through no secondary index (FerretDB 1.x on SQLite) gets the unique indexes only (index-plan.ts).
 */
export async function migrate(models: Models): Promise<void> {
  await migrateProfileKeys(models.Profile);
  const entries = (Object.entries(models) as Array<[string, Model<unknown>]>).filter(([name]) => !LEGACY.has(name));
  for (const [, model] of entries)
    await model.createCollection().catch((err: { codeName?: string; code?: number }) => {
      if (err.codeName !== 'NamespaceExists' && err.code !== 48) throw err;
    });
  const secondary = await servesSecondaryIndexes(models.Setting.db);
  for (const [, model] of entries) await (secondary ? model.createIndexes() : createUniqueIndexes(model));
}

export { bulkWriteInSlices, UPDATE_SLICE } from './bulk-slices.js';
export type {
  CampaignClaimDoc,
  CampaignDoc,
  CampaignSendDoc,
  CampaignSendState,
  CampaignStatus,
} from './campaign.js';
export type { DeadLetterDoc } from './dead-letter.js';
export { DELETE_SLICE, deleteInSlices } from './delete-in-slices.js';
export type { DeliveryDoc } from './delivery.js';
export {
  type EventDevice,
  type EventDoc,
  type EventGeo,
  type EventSource,
  type NewEventDoc,
  sentByOf,
} from './event.js';
export type {
  FunnelDayOutcome,
  FunnelDoc,
  FunnelPersonEvent,
  FunnelPersonState,
  FunnelStepDoc,
} from './funnel.js';
export {
  type IdentityDoc,
  identityKey,
  type LinkQuotaDoc,
  type PendingAliasDoc,
  type ProfileMergeDoc,
  splitIdentityKey,
  type UnlinkedVisitorDoc,
} from './identity.js';
export { createUniqueIndexes, servesSecondaryIndexes } from './index-plan.js';
export { GroupedWriteError, groupedInsert, insertGroup } from './insert-group.js';
export type { MetricsDailyDoc, MetricsFoldedDoc, MetricsPendingDoc } from './metrics-daily.js';
export { findEachById } from './point-reads.js';
export { type ConsentEntry, emailKeyOf, type ProfileDoc, userKeyOf } from './profile.js';
export type { FirstTouch, ProfileFactsDoc } from './profile-facts.js';
export type {
  EventRule,
  ProfileRule,
  SegmentDefinition,
  SegmentDoc,
  SegmentRule,
  ValueRule,
} from './segment.js';
export type { SettingDoc } from './setting.js';
export type { SiteDoc } from './site.js';
export { type SuppressionDoc, siteSuppressionKey } from './suppression.js';
export type {
  FlowStep,
  PropertyFilter,
  TriggerAction,
  TriggerDoc,
  TriggerEntryDoc,
  TriggerVisitorDoc,
} from './trigger.js';
export type { StatsBlockDoc, VisitDims, VisitDoc, VisitSummary } from './visit.js';
export type { WebhookDoc } from './webhook.js';
export {
  duplicateIndexes,
  ignoreDuplicates,
  isDocumentError,
  isDuplicateKey,
  retryUpsertRace,
  type WriteError,
  writeErrorsOf,
} from './write-errors.js';
