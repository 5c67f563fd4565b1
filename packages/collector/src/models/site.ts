import { type InferSchemaType, Schema, type Types } from 'mongoose';

/** One shop platform's webhook secret, sealed, and when it was set. */
const integrationSchema = new Schema(
  { secret: { type: String, required: true }, setAt: { type: Date, required: true } },
  { _id: false },
);

const siteSchema = new Schema(
  {
    name: { type: String, required: true, maxlength: 200 },
    writeKey: { type: String, required: true },
    secretKeyHash: { type: String, required: true },
    /** Hash of the ingest-only secret key: it sends server events, and reads or changes nothing. */
    ingestKeyHash: { type: String },
    /**
     * Read-only keys of the stats routes (`kind: key`, for a client) and share links (`kind: link`: the console's
     * `/share/<key>` page shows the aggregate figures); each revocable on its own. Only hashes are stored.
     */
    statsKeys: {
      type: [
        {
          _id: false,
          id: { type: String, required: true },
          hash: { type: String, required: true },
          kind: { type: String, enum: ['key', 'link'], required: true },
          label: { type: String, default: '' },
          createdAt: { type: Date, required: true },
        },
      ],
      default: [],
    },
    allowedOrigins: { type: [String], default: [] },
    /**
     * What a "yes" to e-mail from a browser (the public write key) counts for: `single` — consent at once;
     * `double` — a request, confirmed by following the link of an e-mail sent to the address; `server` —
     * nothing (only the profile API, a backend or a confirmation give consent). A "no" always counts.
     */
    consentMode: { type: String, enum: ['single', 'double', 'server'], default: 'single' },
    /** IANA time zone of the site's days in the stats (a visit counts on the day it started there). */
    timezone: { type: String, default: 'UTC' },
    /** Days before an order in which a visit can be credited with it (attribution/), 1–90. */
    attributionLookbackDays: { type: Number, default: 30 },
    /**
     * Whether campaign and flow e-mails carry an open pixel (campaigns/open-pixel.ts): off unless the site turns
     * it on, since an open pixel tells the sender when and where a person read their mail.
     */
    emailOpenTracking: { type: Boolean, default: false },
    /**
     * Which query parameters the URLs stored from browsers keep: `allow` (the default) — only campaign tags,
     * ad click ids and `allow`; `full` — all but `deny` and names that look secret (ingest/url-params.ts).
     */
    urlParams: {
      type: new Schema(
        {
          mode: { type: String, enum: ['allow', 'full'], default: 'allow' },
          allow: { type: [String], default: [] },
          deny: { type: [String], default: [] },
        },
        { _id: false },
      ),
      default: () => ({ mode: 'allow', allow: [], deny: [] }),
    },
    /**
     * Keys replaced by a rotation with an overlap, still accepted until `until`: the old write key itself, or
     * the hash of an old secret or ingest key.
     */
    retiredKeys: {
      type: [
        {
          _id: false,
          kind: { type: String, enum: ['write', 'secret', 'ingest'], required: true },
          value: { type: String, required: true },
          until: { type: Date, required: true },
        },
      ],
      default: [],
    },
    /**
     * The shop platforms' webhook secrets (integrations/), sealed (plugins/secret-box.ts): the platforms sign
     * with them, so they must be read back, never stored in the clear or hashed.
     */
    integrations: {
      type: new Schema(
        {
          shopify: { type: integrationSchema, default: undefined },
          woocommerce: { type: integrationSchema, default: undefined },
          stripe: { type: integrationSchema, default: undefined },
        },
        { _id: false },
      ),
      default: undefined,
    },
    createdAt: { type: Date, default: () => new Date() },
  },
  { collection: 'sites', versionKey: false, autoIndex: false, autoCreate: false },
);
siteSchema.index({ writeKey: 1 }, { unique: true });
siteSchema.index({ secretKeyHash: 1 }, { unique: true });
siteSchema.index({ ingestKeyHash: 1 });
siteSchema.index({ 'statsKeys.hash': 1 });
siteSchema.index({ 'retiredKeys.value': 1 });

export type SiteDoc = InferSchemaType<typeof siteSchema> & { _id: Types.ObjectId };
export { siteSchema };
