import type { Types } from 'mongoose';
import type { DeliveryDoc, Models } from '../models/index.js';

export type DeliveryRecord = Pick<DeliveryDoc, 'kind' | 'status' | 'target' | 'attempt'> &
  Partial<Pick<DeliveryDoc, 'responseCode' | 'latencyMs' | 'error' | 'entryId' | 'messageId'>> & {
    siteId: string | Types.ObjectId;
    triggerId?: string | Types.ObjectId | null;
    webhookId?: string | Types.ObjectId | null;
  };

/** Records one e-mail or webhook attempt in `deliveries` (ids given as strings are cast by the model). */
export async function recordDelivery(models: Models, d: DeliveryRecord): Promise<void> {
  await models.Delivery.create({
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
}
