import { Schema, type Types } from 'mongoose';

/**
 * anonymousId → profile links, keyed `<siteId>:<anonymousId>` so the ingest worker resolves a whole batch
 * with one `_id: { $in }` lookup (fast on MongoDB and FerretDB alike, unlike a multikey `$in`).
 */
export interface IdentityDoc {
  _id: string;
  siteId: Types.ObjectId;
  anonymousId: string;
  profileId: Types.ObjectId;
  linkedAt: Date;
}

const identitySchema = new Schema<IdentityDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    anonymousId: { type: String, required: true },
    profileId: { type: Schema.Types.ObjectId, required: true },
    linkedAt: { type: Date, required: true },
  },
  { collection: 'identities', versionKey: false, autoIndex: false, autoCreate: false },
);
identitySchema.index({ siteId: 1, profileId: 1 });

export const identityKey = (siteId: string, anonymousId: string) => `${siteId}:${anonymousId}`;
export { identitySchema };
