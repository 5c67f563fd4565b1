import type { Connection } from 'mongoose';
import { type DeadLetterModel, deadLetterSchema } from './dead-letter.js';
import { type DeliveryModel, deliverySchema } from './delivery.js';
import { type EventModel, eventSchema } from './event.js';
import { type IdentityModel, identitySchema } from './identity.js';
import {
  type MetricsDailyModel,
  type MetricsFoldedModel,
  type MetricsPendingModel,
  metricsDailySchema,
  metricsFoldedSchema,
  metricsPendingSchema,
} from './metrics-daily.js';
import { type ProfileModel, profileSchema } from './profile.js';
import { type SettingModel, settingSchema } from './setting.js';
import { type SiteModel, siteSchema } from './site.js';
import {
  type TriggerEntryModel,
  type TriggerModel,
  type TriggerVisitorModel,
  triggerEntrySchema,
  triggerSchema,
  triggerVisitorSchema,
} from './trigger.js';
import { type WebhookModel, webhookSchema } from './webhook.js';

export interface Models {
  Site: SiteModel;
  Profile: ProfileModel;
  Event: EventModel;
  Identity: IdentityModel;
  DeadLetter: DeadLetterModel;
  MetricsDaily: MetricsDailyModel;
  MetricsPending: MetricsPendingModel;
  MetricsFolded: MetricsFoldedModel;
  Trigger: TriggerModel;
  TriggerEntry: TriggerEntryModel;
  TriggerVisitor: TriggerVisitorModel;
  Webhook: WebhookModel;
  Delivery: DeliveryModel;
  Setting: SettingModel;
}

/** Binds every model to one connection (one database per installation, or per test). */
export function createModels(conn: Connection): Models {
  return {
    Site: conn.model('Site', siteSchema) as unknown as SiteModel,
    Profile: conn.model('Profile', profileSchema) as unknown as ProfileModel,
    Event: conn.model('Event', eventSchema) as unknown as EventModel,
    Identity: conn.model('Identity', identitySchema) as unknown as IdentityModel,
    DeadLetter: conn.model('DeadLetter', deadLetterSchema) as unknown as DeadLetterModel,
    MetricsDaily: conn.model('MetricsDaily', metricsDailySchema) as unknown as MetricsDailyModel,
    MetricsPending: conn.model('MetricsPending', metricsPendingSchema) as unknown as MetricsPendingModel,
    MetricsFolded: conn.model('MetricsFolded', metricsFoldedSchema) as unknown as MetricsFoldedModel,
    Trigger: conn.model('Trigger', triggerSchema) as unknown as TriggerModel,
    TriggerEntry: conn.model('TriggerEntry', triggerEntrySchema) as unknown as TriggerEntryModel,
    TriggerVisitor: conn.model('TriggerVisitor', triggerVisitorSchema) as unknown as TriggerVisitorModel,
    Webhook: conn.model('Webhook', webhookSchema) as unknown as WebhookModel,
    Delivery: conn.model('Delivery', deliverySchema) as unknown as DeliveryModel,
    Setting: conn.model('Setting', settingSchema) as unknown as SettingModel,
  };
}

/** Creates collections and indexes; idempotent (`trackmate-collector migrate`, also run at start). */
export async function migrate(models: Models): Promise<void> {
  for (const model of Object.values(models) as Array<Models[keyof Models]>) {
    await model.createCollection().catch((err: { codeName?: string; code?: number }) => {
      if (err.codeName !== 'NamespaceExists' && err.code !== 48) throw err;
    });
    await model.createIndexes();
  }
}

export type { DeadLetterDoc } from './dead-letter.js';
export type { DeliveryDoc } from './delivery.js';
export type { EventDoc } from './event.js';
export type { IdentityDoc } from './identity.js';
export { identityKey } from './identity.js';
export type { MetricsDailyDoc } from './metrics-daily.js';
export type { ConsentEntry, ProfileDoc } from './profile.js';
export type { SiteDoc } from './site.js';
export type { PropertyFilter, TriggerAction, TriggerDoc, TriggerEntryDoc } from './trigger.js';
export type { WebhookDoc } from './webhook.js';
