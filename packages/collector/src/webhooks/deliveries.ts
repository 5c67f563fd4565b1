import { Types } from 'mongoose';
import type { DeliveryDoc, Models } from '../models/index.js';

export type DeliveryRecord = Pick<DeliveryDoc, 'kind' | 'status' | 'target' | 'attempt'> &
  Partial<Pick<DeliveryDoc, 'responseCode' | 'latencyMs' | 'error' | 'entryId' | 'messageId'>> & {
    siteId: string | Types.ObjectId;
    triggerId?: string | Types.ObjectId | null;
    webhookId?: string | Types.ObjectId | null;
  };

const oid = (v: string | Types.ObjectId | null | undefined) => (v ? new Types.ObjectId(v.toString()) : null);

/** Records one e-mail or webhook attempt in `deliveries`. */
export async function recordDelivery(models: Models, d: DeliveryRecord): Promise<void> {
  await models.Delivery.collection.insertOne({
    siteId: oid(d.siteId),
    kind: d.kind,
    status: d.status,
    target: d.target,
    attempt: d.attempt,
    triggerId: oid(d.triggerId),
    webhookId: oid(d.webhookId),
    entryId: d.entryId ?? null,
    messageId: d.messageId ?? null,
    responseCode: d.responseCode ?? null,
    latencyMs: d.latencyMs ?? null,
    error: d.error ? d.error.slice(0, 1_000) : null,
    at: new Date(),
  } as never);
}
