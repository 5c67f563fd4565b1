import { Schema, type Types } from 'mongoose';

export interface ConsentEntry {
  email: boolean;
  at: Date;
  source: 'form' | 'identify' | 'api' | 'server' | 'unsubscribe' | 'confirmation';
}

export interface ProfileDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  /** Lower-cased; a profile known only by its userId has none yet. */
  email?: string;
  /** The site's own id of the person (an account id, a customer number). */
  userId?: string;
  /** `<siteId>|<email>` and `<siteId>|<userId>`: unique where present (sparse), so two profiles never share one. */
  emailKey?: string;
  userKey?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  /** The standing e-mail decision; `source` says who made it (browser decisions never override the others). */
  consent: { email: boolean; updatedAt?: Date; source?: ConsentEntry['source'] };
  /** `server` once a backend set the names: browser events then leave them alone. */
  namesFrom?: 'server';
  consentHistory: ConsentEntry[];
  metadata?: Record<string, unknown>;
  /** The latest e-mail a browser claimed for this profile's userId; never bound, merged or mailed. */
  unverifiedEmail?: { email: string; at: Date };
  anonymousIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

const profileSchema = new Schema<ProfileDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    email: { type: String, lowercase: true, trim: true },
    userId: { type: String },
    emailKey: { type: String },
    userKey: { type: String },
    firstName: String,
    lastName: String,
    phone: String,
    consent: { email: { type: Boolean, default: false }, updatedAt: Date, source: String },
    namesFrom: String,
    consentHistory: { type: [{ email: Boolean, at: Date, source: String, _id: false }], default: [] },
    metadata: { type: Schema.Types.Mixed },
    unverifiedEmail: { type: { email: String, at: Date, _id: false }, default: undefined },
    anonymousIds: { type: [String], default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'profiles', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
// Uniqueness lives in emailKey/userKey: a compound unique (siteId, email) would allow only one profile without an
// e-mail per site on MongoDB (a missing field is indexed as null); sparse single-field indexes skip them.
profileSchema.index({ emailKey: 1 }, { unique: true, sparse: true });
profileSchema.index({ userKey: 1 }, { unique: true, sparse: true });
profileSchema.index({ siteId: 1, email: 1 });
profileSchema.index({ siteId: 1, _id: 1 });

export const emailKeyOf = (siteId: string, email: string) => `${siteId}|${email}`;
export const userKeyOf = (siteId: string, userId: string) => `${siteId}|${userId}`;

export { profileSchema };
