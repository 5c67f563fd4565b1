import { Schema, type Types } from 'mongoose';

export interface ConsentEntry {
  email: boolean;
  at: Date;
  source: 'form' | 'identify' | 'api' | 'server' | 'unsubscribe' | 'confirmation';
}

export interface ProfileDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  email: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  /** The standing e-mail decision; `source` says who made it (browser decisions never override the others). */
  consent: { email: boolean; updatedAt?: Date; source?: ConsentEntry['source'] };
  /** `server` once a backend set the names: browser events then leave them alone. */
  namesFrom?: 'server';
  consentHistory: ConsentEntry[];
  metadata?: Record<string, unknown>;
  anonymousIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

const profileSchema = new Schema<ProfileDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    email: { type: String, required: true, lowercase: true, trim: true },
    firstName: String,
    lastName: String,
    phone: String,
    consent: { email: { type: Boolean, default: false }, updatedAt: Date, source: String },
    namesFrom: String,
    consentHistory: { type: [{ email: Boolean, at: Date, source: String, _id: false }], default: [] },
    metadata: { type: Schema.Types.Mixed },
    anonymousIds: { type: [String], default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'profiles', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
profileSchema.index({ siteId: 1, email: 1 }, { unique: true });
profileSchema.index({ siteId: 1, _id: 1 });

export { profileSchema };
