import { Schema, type Types } from 'mongoose';

/** One e-mail or webhook attempt (or a send that was skipped, with the reason). */
export interface DeliveryDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  kind: 'email' | 'webhook';
  /** `sent`, `failed` (will be retried or went to dead_letters) or `skipped` (e.g. no consent). */
  status: 'sent' | 'failed' | 'skipped';
  /** E-mail address or URL. */
  target: string;
  attempt: number;
  triggerId: Types.ObjectId | null;
  webhookId: Types.ObjectId | null;
  entryId: string | null;
  messageId: string | null;
  responseCode: number | null;
  latencyMs: number | null;
  error: string | null;
  at: Date;
}

const deliverySchema = new Schema<DeliveryDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    kind: { type: String, required: true },
    status: { type: String, required: true },
    target: { type: String, required: true },
    attempt: { type: Number, required: true },
    triggerId: { type: Schema.Types.ObjectId, default: null },
    webhookId: { type: Schema.Types.ObjectId, default: null },
    entryId: { type: String, default: null },
    messageId: { type: String, default: null },
    responseCode: { type: Number, default: null },
    latencyMs: { type: Number, default: null },
    error: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { collection: 'deliveries', versionKey: false, autoIndex: false, autoCreate: false },
);
deliverySchema.index({ siteId: 1, at: -1 });
deliverySchema.index({ webhookId: 1, at: -1 });
deliverySchema.index({ at: 1 }); // retention

export { deliverySchema };
