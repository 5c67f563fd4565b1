import { SavedFunnel, SavedFunnelInput } from '@trackmate/schema';
import { Type } from 'typebox';
import { siteTimeZones } from '../analytics/index.js';
import { loggable, TrackMateError } from '../errors.js';
import type { FunnelDoc } from '../models/index.js';
import { unlinkMatching } from '../plugins/redis.js';
import { errorReplies, IdParams, type Routes, siteIdOf } from '../route-kit.js';
import { bumpSiteConfig } from '../sites/index.js';
import { buildFunnel } from './funnel-build.js';
import { funnelRepository } from './funnel-repository.js';
import { parseWindow } from './funnel-routes.js';
import { funnelBase } from './funnel-state.js';

/** At most this many saved funnels per site: each costs the ingest worker a little per event. */
export const FUNNELS_PER_SITE = 20;

const view = (f: FunnelDoc): SavedFunnel => ({
  id: f._id.toHexString(),
  name: f.name,
  steps: f.steps,
  window: f.window,
  order: f.order,
  status: f.status,
  createdAt: f.createdAt.toISOString(),
});

/**
 * `/api/funnels` (secret key): saved funnels, kept current by the ingest worker so that any range answers from
 * their state (`GET /api/stats/funnel?funnel=<id>`). A new funnel replays the stored events (`status: building`).
 * Steps are fixed once saved: another funnel is another definition.
 */
const savedFunnelRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const common = { tags: ['funnels'], security: [{ secretKey: [] }] };
  const deps = { models: app.models, redis: app.redis, prefix: app.config.queuePrefix };
  const zones = siteTimeZones(app.models, 0);
  const funnels = funnelRepository(app.models);

  app.post(
    '/api/funnels',
    {
      schema: {
        ...common,
        summary: 'Save a funnel: the worker keeps it current; it first replays the stored events',
        body: SavedFunnelInput,
        response: { 201: SavedFunnel, ...errorReplies(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const siteId = siteIdOf(request);
      const body = request.body;
      const window = body.window ?? '14d';
      parseWindow(window);
      if ((await funnels.count(siteId)) >= FUNNELS_PER_SITE)
        throw new TrackMateError('TM_ERR_BAD_REQUEST', {
          message: `At most ${FUNNELS_PER_SITE} saved funnels per site`,
        });
      const saved = await funnels.create({
        siteId,
        name: body.name.trim(),
        steps: body.steps,
        window,
        order: body.order ?? 'sequential',
        status: 'building',
        createdAt: new Date(),
      });
      // the workers see the funnel from their next job on; what they stored before, the build replays
      await bumpSiteConfig(app.redis, app.config.queuePrefix, siteId.toHexString());
      const tz = (await zones([siteId.toHexString()])).get(siteId.toHexString()) ?? 'UTC';
      buildFunnel(deps, saved, tz).catch((err: unknown) =>
        app.log.error({ funnelId: saved._id.toHexString(), err: loggable(err) }, 'saved funnel build failed'),
      );
      reply.code(201);
      return view(saved);
    },
  );

  app.get(
    '/api/funnels',
    {
      schema: {
        ...common,
        summary: "The site's saved funnels",
        response: { 200: Type.Object({ funnels: Type.Array(SavedFunnel) }), ...errorReplies(401, 403) },
      },
    },
    async (request) => {
      return { funnels: (await funnels.list(siteIdOf(request))).map(view) };
    },
  );

  app.get(
    '/api/funnels/:id',
    {
      schema: {
        ...common,
        summary: 'One saved funnel',
        params: IdParams,
        response: { 200: SavedFunnel, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => view(await funnels.load(siteIdOf(request), request.params.id)),
  );

  app.patch(
    '/api/funnels/:id',
    {
      schema: {
        ...common,
        summary: 'Rename a saved funnel (its steps are fixed: save another funnel to change them)',
        params: IdParams,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: SavedFunnel, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const f = await funnels.load(siteIdOf(request), request.params.id);
      await funnels.rename(f, request.body.name.trim());
      return view({ ...f, name: request.body.name.trim() });
    },
  );

  app.delete(
    '/api/funnels/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a saved funnel and its state',
        params: IdParams,
        response: { 204: Type.Null(), ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const siteId = siteIdOf(request);
      const f = await funnels.load(siteId, request.params.id);
      await funnels.remove(f);
      await bumpSiteConfig(app.redis, app.config.queuePrefix, siteId.toHexString());
      await unlinkMatching(
        app.redis,
        `${funnelBase(app.config.queuePrefix, siteId.toHexString(), f._id.toHexString())}:*`,
      );
      reply.code(204);
      return null;
    },
  );
};

export default savedFunnelRoutes;
