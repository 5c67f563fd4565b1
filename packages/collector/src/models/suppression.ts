import { Schema, type Types } from 'mongoose';

/**
 * A person erased from a site, by a hash of one of their ids (e-mail or visitor id), `_id` =
 * `<siteId>:<sha256>`: until `until`, ingested events naming them are dropped, so that events still queued
 * or retried by a browser cannot recreate them. Only hashes are kept.
 */
export interface SuppressionDoc {
  _id: string;
  siteId: Types.ObjectId;
  until: Date;
}

const suppressionSchema = new Schema<SuppressionDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    until: { type: Date, required: true },
  },
  { collection: 'suppressions', versionKey: false, autoIndex: false, autoCreate: false },
);
suppressionSchema.index({ siteId: 1, until: 1 });

/** The suppression of a whole deleted site: its queued and retried events are dropped, whoever they name. */
export const siteSuppressionKey = (siteId: string) => `${siteId}:*`;

export { suppressionSchema };
