import { Readable } from 'node:stream';
import {
  EventPage,
  findUnsafeKey,
  LIMITS,
  Profile,
  ProfileErasure,
  ProfileExport,
  ProfilePage,
  ProfilePatch,
} from '@trackmate/schema';
import type { Types, UpdateQuery } from 'mongoose';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { eventPage, eventView } from '../events/index.js';
import type { Models, ProfileDoc } from '../models/index.js';
import { errorReplies as errors, IdParams, Limit, parseId, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { bumpSiteConfig } from '../sites/index.js';
import { withHeartbeat } from './heartbeat.js';
import { erasePerson, eventPages, profileOf, recentVisitorIds } from './person-data.js';
import type { EraseQueued } from './person-ids.js';
import { lockKeysOf, profileDocLock } from './profile-doc-locks.js';
import { cleanName, normalizeEmail } from './profile-fields.js';
import { profileRepository } from './profile-repository.js';
import { decodeProfileCursor, profileView } from './profile-views.js';
import { recordConsent } from './upsert-profile.js';

const Cursor = Type.Optional(Type.String({ maxLength: 128, description: 'nextCursor of the previous page' }));
const common = { tags: ['profiles'], security: [{ secretKey: [] }] };
const parseProfileId = (id: string) => parseId(id, 'profile id');

/** The profile API (secret key): every query is scoped to the key's site, so one site never sees another's people. */
const profileRoutes: Routes<{
  eraseQueued: EraseQueued;
  /** Told after a profile changed through this API (segments evaluate it again). */
  profileChanged?: (siteId: Types.ObjectId, profileId: Types.ObjectId) => Promise<void>;
  /** Told after a person was erased, with their most recent visitor ids (saved funnels drop their state). */
  personErased?: (siteId: Types.ObjectId, profileId: Types.ObjectId, visitorIds: string[]) => Promise<void>;
}> = async (app, { eraseQueued, profileChanged, personErased }) => {
  // Authenticate before anything is parsed or validated: an unknown caller learns nothing but 401.
  app.addHook('onRequest', app.requireSecretKey);
  const { models } = app;
  const profiles = profileRepository(models);
  const lockProfiles = profileDocLock(app.redis, app.config.queuePrefix);

  app.get(
    '/api/profiles',
    {
      schema: {
        ...common,
        summary: 'Find a profile by e-mail or userId, or list profiles newest first, a page at a time',
        querystring: Type.Object({
          email: Type.Optional(Type.String({ maxLength: 254 })),
          userId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          limit: Limit,
          cursor: Cursor,
        }),
        response: { 200: ProfilePage, ...errors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = parseLimit(q.limit);
      const docs = await profiles.page(siteIdOf(request), {
        email: q.email === undefined ? undefined : (normalizeEmail(q.email) ?? q.email.trim().toLowerCase()),
        userId: q.userId,
        before: q.cursor ? decodeProfileCursor(q.cursor) : undefined,
        limit,
      });
      const page = docs.slice(0, limit);
      return {
        profiles: page.map(profileView),
        nextCursor: docs.length > limit ? page[page.length - 1]!._id.toHexString() : null,
      };
    },
  );

  app.get(
    '/api/profiles/:id',
    {
      schema: {
        ...common,
        summary: 'One profile, with its consent history',
        params: IdParams,
        response: { 200: Profile, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      return profileView(await profileOf(models, siteIdOf(request), parseProfileId(request.params.id)));
    },
  );

  app.patch(
    '/api/profiles/:id',
    {
      schema: {
        ...common,
        summary: 'Update names, phone, e-mail consent or metadata',
        description:
          'A consent change is recorded in the history with source `api`; the newest decision wins. Metadata is ' +
          'merged key by key (a `null` value removes its key); its keys follow the rules of event properties.',
        params: IdParams,
        body: ProfilePatch,
        response: { 200: Profile, ...errors(400, 401, 404, 413, 415) },
      },
    },
    async (request) => {
      const patch = request.body;
      const profile = await profileOf(models, siteIdOf(request), parseProfileId(request.params.id));
      const now = new Date();
      const set: PatchSet = {};
      const unset: PatchUnset = {};
      for (const field of ['firstName', 'lastName'] as const) {
        if (!(field in patch)) continue;
        const name = cleanName(patch[field]);
        if (name) set[field] = name;
        else unset[field] = '';
      }
      if (patch.phone !== undefined) {
        if (patch.phone === null) unset.phone = '';
        else set.phone = patch.phone;
      }
      if (patch.metadata) mergeMetadata(profile, patch.metadata, set, unset);
      // under the profile's locks: an ingest job writing the same person meanwhile would lose this change, or
      // this change its own (FerretDB 1.24 writes the whole document back)
      await lockProfiles(lockKeysOf(profile), async () => {
        if (Object.keys(set).length || Object.keys(unset).length) {
          const update: UpdateQuery<ProfileDoc> = { $set: { ...set, updatedAt: now } };
          if (Object.keys(unset).length) update.$unset = unset;
          await profiles.update(profile, update);
        }
        if (patch.consent) await recordConsent(models, profile._id, patch.consent.email, now, 'api');
      });
      await profileChanged?.(profile.siteId, profile._id);
      return profileView(await profileOf(models, profile.siteId, profile._id));
    },
  );

  app.get(
    '/api/profiles/:id/events',
    {
      schema: {
        ...common,
        summary: "The profile's events, newest first, a page at a time",
        params: IdParams,
        querystring: Type.Object({
          name: Type.Optional(
            Type.String({ maxLength: LIMITS.maxNameLength, description: 'Only events of this name' }),
          ),
          limit: Limit,
          cursor: Cursor,
        }),
        response: { 200: EventPage, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      const profile = await profileOf(models, siteIdOf(request), parseProfileId(request.params.id));
      const selection = { siteId: profile.siteId, profileId: profile._id, name: q.name };
      return eventPage(models, selection, parseLimit(q.limit), q.cursor);
    },
  );

  app.delete(
    '/api/profiles/:id',
    {
      schema: {
        ...common,
        summary: 'Erase a person: the profile, its events, its anonymous history and its visitor-id links',
        description:
          'Answers how many documents were deleted. Events still queued for ingestion when the erasure runs ' +
          'may arrive afterwards; erase again after the queue has drained to be certain.',
        params: IdParams,
        response: { 200: ProfileErasure, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const profile = await profileOf(models, siteIdOf(request), parseProfileId(request.params.id));
      const anonymousIds = await recentVisitorIds(models, profile);
      const erased = await erasePerson(models, profile, anonymousIds);
      await profileChanged?.(profile.siteId, profile._id); // no longer a member of any segment
      await personErased?.(profile.siteId, profile._id, anonymousIds);
      const queued = await eraseQueued({
        siteId: profile.siteId.toHexString(),
        profileId: profile._id.toHexString(),
        email: profile.email,
        userId: profile.userId,
        anonymousIds,
      });
      const deleted = { ...erased, queuedEvents: queued.events, queuedDeliveries: queued.deliveries };
      // the workers' cached suppressions of this site are stale now
      await bumpSiteConfig(app.redis, app.config.queuePrefix, profile.siteId);
      request.log.info(
        { site: profile.siteId.toHexString(), profile: profile._id.toHexString(), deleted },
        'profile erased',
      );
      return { deleted };
    },
  );

  app.get(
    '/api/profiles/:id/export',
    {
      schema: {
        ...common,
        summary: 'Everything held about a person, as JSON: profile, consent history and every event',
        params: IdParams,
        // the ProfileExport document, sent as a stream of its text (Fastify sends a stream as is)
        response: { 200: Type.Unsafe<Readable>(ProfileExport), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const profile = await profileOf(models, siteIdOf(request), parseProfileId(request.params.id));
      reply
        .header('content-disposition', `attachment; filename="profile-${profile._id.toHexString()}.json"`)
        .type('application/json; charset=utf-8');
      // streamed a page of events at a time, so a person with any number of events is exported in bounded memory
      return reply.send(Readable.from(withHeartbeat(exportChunks(models, profile), HEARTBEAT_MS)));
    },
  );
};

export default profileRoutes;

/**
 * While a person with many visitor ids is exported, minutes can pass between two pages of events (a pass over
 * the site's unlinked events finds few of theirs): a space, JSON whitespace between tokens, goes out every
 * HEARTBEAT_MS meanwhile, so clients and proxies that cut idle responses keep the connection.
 */
const HEARTBEAT_MS = 15_000;

/** The export document (the ProfileExport schema) as JSON text, written as its events are read. */
async function* exportChunks(models: Models, profile: ProfileDoc): AsyncGenerator<string> {
  const head = JSON.stringify({ exportedAt: new Date().toISOString(), profile: profileView(profile) });
  yield `${head.slice(0, -1)},"events":[`;
  let first = true;
  for await (const page of eventPages(models, profile)) {
    const text = page.map((e) => JSON.stringify(eventView(e))).join(',');
    yield first ? text : `,${text}`;
    first = false;
  }
  yield ']}';
}

/** What a profile PATCH sets: names, phone, and metadata whole or key by key (`metadata.<key>`). */
type PatchSet = Partial<Pick<ProfileDoc, 'firstName' | 'lastName' | 'phone' | 'metadata'>> & {
  [path: `metadata.${string}`]: unknown;
};
/** What it removes. */
type PatchUnset = { [path in 'firstName' | 'lastName' | 'phone' | `metadata.${string}`]?: '' };

/** Metadata keys as event properties (no `$`, `.`, `__proto__`), merged key by key, 32 KB at most once merged. */
function mergeMetadata(profile: ProfileDoc, patch: Record<string, unknown>, set: PatchSet, unset: PatchUnset): void {
  const unsafe = findUnsafeKey(patch);
  if (unsafe) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `/metadata${unsafe}` });
  const nested = nestedArrayPath(patch, '/metadata');
  if (nested)
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `${nested}: arrays inside arrays are not supported` });
  const current = profile.metadata && typeof profile.metadata === 'object' ? profile.metadata : undefined;
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  const bytes = Buffer.byteLength(JSON.stringify(merged));
  if (bytes > LIMITS.maxEventBytes) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', {
      message: `metadata would be ${bytes} bytes, more than the ${LIMITS.maxEventBytes} allowed`,
    });
  }
  if (!current) {
    set.metadata = merged;
    return;
  }
  // Key by key, so two concurrent PATCHes of different keys both stand.
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) unset[`metadata.${key}`] = '';
    else set[`metadata.${key}`] = value;
  }
}

/** The path of an array directly inside an array (MongoDB-compatible servers such as FerretDB refuse them). */
function nestedArrayPath(value: unknown, path: string, inArray = false): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    if (inArray) return path;
    for (let i = 0; i < value.length; i++) {
      const found = nestedArrayPath(value[i], `${path}/${i}`, true);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const found = nestedArrayPath(v, `${path}/${k}`);
    if (found) return found;
  }
  return undefined;
}
