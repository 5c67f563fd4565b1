import { Schema, type Types } from 'mongoose';

/** An outgoing webhook subscription: every stored event whose name is in `events` is POSTed to `url`, signed. */
export interface WebhookDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  url: string;
  /** Event names; `*` matches every event. */
  events: string[];
  secret: string;
  /** The secret a rotation replaced: deliveries carry its signature too until `previousSecretUntil`. */
  previousSecret?: string | null;
  previousSecretUntil?: Date | null;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const webhookSchema = new Schema<WebhookDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    url: { type: String, required: true },
    events: { type: [String], required: true },
    secret: { type: String, required: true },
    previousSecret: { type: String, default: null },
    previousSecretUntil: { type: Date, default: null },
    active: { type: Boolean, default: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'webhooks', versionKey: false, autoIndex: false, autoCreate: false },
);
webhookSchema.index({ siteId: 1, active: 1 });

export { webhookSchema };
