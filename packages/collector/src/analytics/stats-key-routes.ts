import { randomBytes } from 'node:crypto';
import { CreatedStatsKey, StatsKeyList } from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { errorReplies, type Routes, siteIdOf } from '../route-kit.js';
import { hashSecretKey, newSecretKey } from '../sites/index.js';

const MAX_KEYS = 50;
const common = { tags: ['stats'], security: [{ secretKey: [] }] };

/**
 * `/api/site/stats-keys` (secret key): read-only keys of the stats routes, for a client (`key`) or behind a share
 * link (`link`: the console's `/share/<key>` page shows the dashboard's aggregate figures, never profiles,
 * events or e-mail addresses). Each is shown once, stored as a hash, and revoked on its own: at once in this
 * process, within 30 seconds in the others (their key cache).
 */
const statsKeyRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);

  app.get(
    '/api/site/stats-keys',
    {
      schema: {
        ...common,
        summary: 'The read-only stats keys and share links of the site (never the keys themselves)',
        response: { 200: StatsKeyList, ...errorReplies(401, 403) },
      },
    },
    async (request) => {
      const site = await app.models.Site.findById(siteIdOf(request), { statsKeys: 1 }).lean();
      return {
        keys: (site?.statsKeys ?? []).map((k) => ({
          id: k.id,
          kind: k.kind as 'key' | 'link',
          label: k.label ?? '',
          createdAt: k.createdAt.toISOString(),
        })),
      };
    },
  );

  app.post(
    '/api/site/stats-keys',
    {
      schema: {
        ...common,
        summary: 'A new read-only stats key or share link; the key is in this answer only',
        body: Type.Object(
          {
            kind: Type.Union([Type.Literal('key'), Type.Literal('link')]),
            label: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedStatsKey, ...errorReplies(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const siteId = siteIdOf(request);
      const key = newSecretKey();
      const entry = {
        id: randomBytes(8).toString('hex'),
        hash: hashSecretKey(key),
        kind: request.body.kind,
        label: request.body.label?.trim() ?? '',
        createdAt: new Date(),
      };
      // at most MAX_KEYS: the filter refuses the push when the list is full
      const res = await app.models.Site.updateOne(
        { _id: siteId, [`statsKeys.${MAX_KEYS - 1}`]: { $exists: false } },
        { $push: { statsKeys: entry } },
      );
      if (!res.modifiedCount)
        throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `At most ${MAX_KEYS} stats keys and share links` });
      return reply.code(201).send({
        id: entry.id,
        kind: entry.kind,
        label: entry.label,
        createdAt: entry.createdAt.toISOString(),
        key,
      });
    },
  );

  app.delete(
    '/api/site/stats-keys/:id',
    {
      schema: {
        ...common,
        summary: 'Revoke a stats key or share link',
        params: Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) }),
        response: errorReplies(401, 403, 404),
      },
    },
    async (request, reply) => {
      const siteId = siteIdOf(request);
      // FerretDB 1.24 has no $pull by condition: the list is replaced, if nobody changed it meanwhile
      const site = await app.models.Site.findById(siteId, { statsKeys: 1 }).lean();
      const keys = site?.statsKeys ?? [];
      const kept = keys.filter((k) => k.id !== request.params.id);
      const res =
        kept.length < keys.length
          ? await app.models.Site.updateOne({ _id: siteId, statsKeys: keys }, { $set: { statsKeys: kept } })
          : { modifiedCount: 0 };
      if (!res.modifiedCount)
        throw new TrackMateError('TM_ERR_NOT_FOUND', { message: `No stats key ${request.params.id}` });
      app.siteKeys.forgetSite(siteId.toHexString());
      return reply.code(204).send();
    },
  );
};

export default statsKeyRoutes;
