import { randomBytes } from 'node:crypto';
import { CreatedStatsKey, StatsKeyList } from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { errorReplies, type Routes, siteIdOf } from '../route-kit.js';
import { hashSecretKey, newSecretKey } from '../sites/index.js';
import { type StatsKeyEntry, statsKeyRepository } from './stats-key-repository.js';

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
  const statsKeys = statsKeyRepository(app.models);

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
      return {
        keys: (await statsKeys.list(siteIdOf(request))).map((k) => ({
          id: k.id,
          kind: k.kind,
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
      const entry: StatsKeyEntry = {
        id: randomBytes(8).toString('hex'),
        hash: hashSecretKey(key),
        kind: request.body.kind,
        label: request.body.label?.trim() ?? '',
        createdAt: new Date(),
      };
      if (!(await statsKeys.add(siteId, entry, MAX_KEYS)))
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
      if (!(await statsKeys.remove(siteId, request.params.id)))
        throw new TrackMateError('TM_ERR_NOT_FOUND', { message: `No stats key ${request.params.id}` });
      app.siteKeys.forgetSite(siteId.toHexString());
      return reply.code(204).send();
    },
  );
};

export default statsKeyRoutes;
