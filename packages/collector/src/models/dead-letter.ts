import { Schema, type Types } from 'mongoose';

/** A payload that could not be processed after all retries, with the error. Never dropped silently. */
export interface DeadLetterDoc {
  _id: Types.ObjectId;
  queue: string;
  jobId: string | null;
  siteId: Types.ObjectId | null;
  reason: string;
  attempts: number;
  payload: unknown;
  failedAt: Date;
  /** When `trackmate-collector dead-letters replay` queued the payload again. */
  replayedAt?: Date | null;
}

const deadLetterSchema = new Schema<DeadLetterDoc>(
  {
    queue: { type: String, required: true },
    jobId: { type: String, default: null },
    siteId: { type: Schema.Types.ObjectId, default: null },
    reason: { type: String, required: true },
    attempts: { type: Number, default: 0 },
    payload: { type: Schema.Types.Mixed },
    failedAt: { type: Date, required: true },
    replayedAt: { type: Date, default: null },
  },
  { collection: 'dead_letters', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
deadLetterSchema.index({ queue: 1, failedAt: -1 });
deadLetterSchema.index({ failedAt: 1 }); // retention

export { deadLetterSchema };
