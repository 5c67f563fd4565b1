import type { Types } from 'mongoose';
import { type DeliveryDoc, groupedInsert, type Models } from '../models/index.js';

export type DeliveryRecord = Pick<DeliveryDoc, 'kind' | 'status' | 'target' | 'attempt'> &
  Partial<Pick<DeliveryDoc, 'responseCode' | 'latencyMs' | 'error' | 'entryId' | 'messageId'>> & {
    siteId: string | Types.ObjectId;
    triggerId?: string | Types.ObjectId | null;
    webhookId?: string | Types.ObjectId | null;
  };

/**
 * Records one e-mail or webhook attempt in `deliveries`. The model casts and checks the row (ids given as strings
 * become ObjectIds); the rows of attempts made at the same time go to the database as one insert (insert-group.ts:
 * on FerretDB each insert is a write transaction, and a sale day's order webhooks are many at once).
 */
export async function recordDelivery(models: Models, d: DeliveryRecord): Promise<void> {
  const row = new models.Delivery({
    siteId: d.siteId,
    kind: d.kind,
    status: d.status,
    target: d.target,
    attempt: d.attempt,
    triggerId: d.triggerId ?? null,
    webhookId: d.webhookId ?? null,
    entryId: d.entryId ?? null,
    messageId: d.messageId ?? null,
    responseCode: d.responseCode ?? null,
    latencyMs: d.latencyMs ?? null,
    error: d.error ? d.error.slice(0, 1_000) : null,
    at: new Date(),
  });
  await row.validate();
  await groupedInsert(models.Delivery)([row.toObject({ depopulate: true, versionKey: false })]);
}
