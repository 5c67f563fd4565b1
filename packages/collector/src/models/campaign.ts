import { Schema, type Types } from 'mongoose';

export type CampaignStatus = 'draft' | 'scheduled' | 'sending' | 'paused' | 'sent' | 'cancelled';

/** A broadcast: one e-mail to a segment's consenting members, now or at a set time. */
export interface CampaignDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  name: string;
  segmentId: Types.ObjectId;
  subject: string;
  body: string;
  status: CampaignStatus;
  scheduledAt: Date | null;
  /** Messages handed to SMTP per second at most. */
  ratePerSecond: number;
  /** Skip anyone e-mailed (by any campaign or flow) in the last this many hours; null: no cap. */
  frequencyCapHours: number | null;
  /** Each start or resume: the sending job's id derives from it. */
  runs: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const campaignSchema = new Schema<CampaignDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    name: { type: String, required: true },
    segmentId: { type: Schema.Types.ObjectId, required: true },
    subject: { type: String, required: true },
    body: { type: String, required: true },
    status: { type: String, required: true },
    scheduledAt: { type: Date, default: null },
    ratePerSecond: { type: Number, required: true },
    frequencyCapHours: { type: Number, default: null },
    runs: { type: Number, default: 0 },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'campaigns', versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
);
campaignSchema.index({ siteId: 1 });

export type CampaignSendState = 'sending' | 'sent' | 'failed' | 'skipped';

/**
 * What became of one person of one broadcast, `_id` = `<campaignId>:<profileId>`: inserted once, after the
 * outcome is known (`sent`, `failed`, `skipped`), never updated on the sending path (FerretDB 1.24 scans the
 * collection for a write by `_id`). `sending`: the run that claimed the person died with the message in flight;
 * it may or may not have left, and it is never sent again (at most once).
 */
export interface CampaignSendDoc {
  _id: string;
  siteId: Types.ObjectId;
  campaignId: Types.ObjectId;
  profileId: Types.ObjectId;
  email: string | null;
  state: CampaignSendState;
  reason?: string;
  at: Date;
}

const campaignSendSchema = new Schema<CampaignSendDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    campaignId: { type: Schema.Types.ObjectId, required: true },
    profileId: { type: Schema.Types.ObjectId, required: true },
    email: { type: String, default: null },
    state: { type: String, required: true },
    reason: String,
    at: { type: Date, required: true },
  },
  { collection: 'campaign_sends', versionKey: false, autoIndex: false, autoCreate: false },
);
campaignSendSchema.index({ campaignId: 1, state: 1 });

/**
 * The claim on one person of one broadcast, `_id` = `<campaignId>:<profileId>`: inserted before the message goes
 * to SMTP (or the person is recorded skipped), so a second insert fails and nobody is sent a broadcast twice,
 * whatever restarts or resumes. `run`: the token of the sending run that holds it.
 */
export interface CampaignClaimDoc {
  _id: string;
  siteId: Types.ObjectId;
  campaignId: Types.ObjectId;
  profileId: Types.ObjectId;
  run: string;
  at: Date;
}

const campaignClaimSchema = new Schema<CampaignClaimDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    campaignId: { type: Schema.Types.ObjectId, required: true },
    profileId: { type: Schema.Types.ObjectId, required: true },
    run: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'campaign_claims', versionKey: false, autoIndex: false, autoCreate: false },
);
campaignClaimSchema.index({ siteId: 1, profileId: 1 });

export { campaignClaimSchema, campaignSchema, campaignSendSchema };
