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

/** An identityKey's site and visitor id (a site id holds no colon; a visitor id may). */
export const splitIdentityKey = (key: string) => {
  const sep = key.indexOf(':');
  return { siteId: key.slice(0, sep), anonymousId: key.slice(sep + 1) };
};
export { identitySchema };

/**
 * Visitor ids an `alias` event named (`properties.previousId`) while its own visitor id was not yet linked to a
 * profile, keyed like identities (`<siteId>:<anonymousId>`). Whichever comes second — the alias or the link of
 * its visitor id — reads the other after writing its own record, so the previous id is linked either way.
 */
export interface PendingAliasDoc {
  _id: string;
  siteId: Types.ObjectId;
  previousIds: string[];
  at: Date;
}

const pendingAliasSchema = new Schema<PendingAliasDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    previousIds: { type: [String], default: [] },
    at: { type: Date, required: true },
  },
  { collection: 'pending_aliases', versionKey: false, autoIndex: false, autoCreate: false },
);
pendingAliasSchema.index({ siteId: 1 });

/**
 * A visitor id that may have events without a profile that its Redis records (pipeline/unlinked-events.ts) do
 * not name — its records were set aside after a long quiet, or its events were stored before records were kept —
 * keyed like identities. Linking the visitor id back-fills its events and removes this mark: the events named in
 * `events` (their `_id`s, when the mark was made knowing them all) are read by `_id`; without the list, the
 * visitor's events are found in `events`.
 */
export interface UnlinkedVisitorDoc {
  _id: string;
  siteId: Types.ObjectId;
  at: Date;
  events?: Types.ObjectId[];
}

const unlinkedVisitorSchema = new Schema<UnlinkedVisitorDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    at: { type: Date, required: true },
    events: { type: [Schema.Types.ObjectId], default: undefined },
  },
  { collection: 'unlinked_visitors', versionKey: false, autoIndex: false, autoCreate: false },
);
unlinkedVisitorSchema.index({ siteId: 1 });

/**
 * A merged profile: `_id` is the profile that was merged (and deleted), `into` the one that holds the person
 * now. Links already sent (unsubscribe, confirmation), exports, erasures and the profile API follow it, and so
 * does an event stored with the old id while the merge ran.
 */
export interface ProfileMergeDoc {
  _id: Types.ObjectId;
  siteId: Types.ObjectId;
  into: Types.ObjectId;
  at: Date;
}

const profileMergeSchema = new Schema<ProfileMergeDoc>(
  {
    siteId: { type: Schema.Types.ObjectId, required: true },
    into: { type: Schema.Types.ObjectId, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'profile_merges', versionKey: false, autoIndex: false, autoCreate: false },
);
profileMergeSchema.index({ siteId: 1, into: 1 });

/**
 * How many visitor ids browsers linked to one profile on its `day` (UTC, `YYYY-MM-DD`), `_id` the profile id:
 * past the daily cap a browser's identify still stores its event, but no longer attaches its visitor id.
 */
export interface LinkQuotaDoc {
  _id: string;
  siteId: Types.ObjectId;
  day: string;
  n: number;
}

const linkQuotaSchema = new Schema<LinkQuotaDoc>(
  {
    _id: { type: String, required: true },
    siteId: { type: Schema.Types.ObjectId, required: true },
    day: { type: String, required: true },
    n: { type: Number, required: true },
  },
  { collection: 'link_quotas', versionKey: false, autoIndex: false, autoCreate: false },
);
linkQuotaSchema.index({ siteId: 1 });

export { linkQuotaSchema, pendingAliasSchema, profileMergeSchema, unlinkedVisitorSchema };
