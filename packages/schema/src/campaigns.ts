import { type Static, Type } from 'typebox';
import { Email, ObjectIdString } from './common.js';

/** Messages a second a broadcast sends when it does not say (about 12,000 a minute). */
export const BROADCAST_DEFAULT_RATE = 200;

const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  segmentId: ObjectIdString,
  subject: Type.String({ minLength: 1, maxLength: 300, description: 'Template: {{profile.firstName}}' }),
  body: Type.String({
    minLength: 1,
    maxLength: 50_000,
    description: 'Plain-text template ({{profile.…}}, {{unsubscribeUrl}}); the HTML part escapes every value',
  }),
  ratePerSecond: Type.Integer({ minimum: 1, maximum: 1_000, description: `default ${BROADCAST_DEFAULT_RATE}` }),
  frequencyCapHours: Type.Union([Type.Integer({ minimum: 1, maximum: 168 }), Type.Null()], {
    description: 'Skip anyone e-mailed (by any campaign or flow) in the last this many hours; null: no cap',
  }),
};

/** `POST /api/campaigns`: a draft broadcast. */
export const CampaignInput = Type.Object(
  {
    name: fields.name,
    segmentId: fields.segmentId,
    subject: fields.subject,
    body: fields.body,
    ratePerSecond: Type.Optional(fields.ratePerSecond),
    frequencyCapHours: Type.Optional(fields.frequencyCapHours),
  },
  { additionalProperties: false },
);
export type CampaignInput = Static<typeof CampaignInput>;

/** `PATCH /api/campaigns/:id` (a draft or a scheduled campaign only). */
export const CampaignPatch = Type.Partial(Type.Object(fields), { additionalProperties: false });
export type CampaignPatch = Static<typeof CampaignPatch>;

export const CampaignStatus = Type.Union([
  Type.Literal('draft'),
  Type.Literal('scheduled'),
  Type.Literal('sending'),
  Type.Literal('paused'),
  Type.Literal('sent'),
  Type.Literal('cancelled'),
]);
export type CampaignStatus = Static<typeof CampaignStatus>;

/** A broadcast (a Campaign in the console): `/api/campaigns`. */
export const Campaign = Type.Object({
  id: ObjectIdString,
  name: Type.String(),
  segmentId: ObjectIdString,
  subject: Type.String(),
  body: Type.String(),
  status: CampaignStatus,
  scheduledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  ratePerSecond: Type.Integer(),
  frequencyCapHours: Type.Union([Type.Integer(), Type.Null()]),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /**
   * So far: `sent`, `failed` (SMTP refused), `skipped` (no address, no consent, erased, frequency cap) and
   * `inFlight` (handed to a run that has not finished it: a run that died leaves them so, never sent twice).
   */
  progress: Type.Object({
    audience: Type.Integer({ description: "The segment's members now" }),
    sent: Type.Integer(),
    failed: Type.Integer(),
    skipped: Type.Integer(),
    inFlight: Type.Integer(),
  }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Campaign = Static<typeof Campaign>;

export const CampaignList = Type.Object({ campaigns: Type.Array(Campaign) });
export type CampaignList = Static<typeof CampaignList>;

/** `POST /api/campaigns/:id/send`: now, or at `at` (scheduled). */
export const CampaignSend = Type.Object(
  { at: Type.Optional(Type.String({ format: 'date-time' })) },
  { additionalProperties: false },
);
export type CampaignSend = Static<typeof CampaignSend>;

/** `POST /api/campaigns/:id/test`: the message, as `profileId` (default: the first member) would get it, to one address. */
export const CampaignTest = Type.Object(
  { email: Email, profileId: Type.Optional(ObjectIdString) },
  { additionalProperties: false },
);
export type CampaignTest = Static<typeof CampaignTest>;

/** `GET /api/campaigns/:id/preview?profileId=`: the message filled with a real profile's values. */
export const CampaignPreview = Type.Object({
  profileId: ObjectIdString,
  to: Type.Union([Type.String(), Type.Null()]),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
});
export type CampaignPreview = Static<typeof CampaignPreview>;

/**
 * `GET /api/campaigns/:id/results` and `GET /api/triggers/:id/results`: what a broadcast's or flow's e-mails
 * achieved. Clicks are on its tracked links by the people sent them (`suspectClicks`: link scanners' — within
 * seconds of sending, or a robot agent — left out of everything else); orders and revenue are the server orders
 * placed within `attributionWindowDays` after a person's last counted click, credited to that click's source.
 * Opens are there when the site tracks them (`emailOpenTracking`), with the same flagging as clicks plus Apple's
 * Mail Privacy Protection.
 */
const mailFigures = {
  sent: Type.Integer(),
  failed: Type.Integer(),
  clicks: Type.Integer({ description: 'Counted clicks' }),
  clickers: Type.Integer({ description: 'People with a counted click' }),
  suspectClicks: Type.Integer(),
  opened: Type.Optional(
    Type.Integer({
      description:
        'Loads of the open pixel by the people sent the e-mail (only when the site tracks opens, emailOpenTracking)',
    }),
  ),
  openers: Type.Optional(Type.Integer({ description: 'People with a counted open (when the site tracks opens)' })),
  suspectOpens: Type.Optional(
    Type.Integer({
      description: "Opens by Apple's Mail Privacy Protection, scanners, or within seconds of delivery: counted apart",
    }),
  ),
  unsubscribed: Type.Integer({
    description: 'People who confirmed an unsubscribe through the e-mail’s link (each once; a GET changes nothing)',
  }),
  orders: Type.Integer(),
  revenueByCurrency: Type.Record(Type.String(), Type.Number(), { description: 'ISO 4217 code → revenue' }),
};

export const EmailResults = Type.Object({
  /** A flow's steps, numbered from 1 (`/api/triggers/:id/results` only): each step's own figures. */
  steps: Type.Optional(Type.Array(Type.Object({ step: Type.Integer({ minimum: 1 }), ...mailFigures }))),
  ...mailFigures,
  attributionWindowDays: Type.Number(),
});
export type EmailResults = Static<typeof EmailResults>;
