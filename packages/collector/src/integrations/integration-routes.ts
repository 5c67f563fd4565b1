import { Integrations, PLATFORMS } from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { errorReplies, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { integrationsView, siteRepository } from '../sites/index.js';
import { deliveryLog, KEEP } from './delivery-log.js';

/**
 * `GET /api/integrations`: each shop platform's webhook URL for the site, whether its secret is set, how many
 * deliveries ended each way, and the last ones with their outcome (what the console's settings show).
 */
const integrationRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const log = deliveryLog(app.redis, app.config.queuePrefix);
  const sites = siteRepository(app.models);

  app.get(
    '/api/integrations',
    {
      schema: {
        tags: ['integrations'],
        security: [{ secretKey: [] }],
        summary: "The shop platforms' webhook URLs, secrets set, and their last deliveries",
        description: `\`limit\`: deliveries per platform, 1–${KEEP}, default 20.`,
        querystring: Type.Object({ limit: Limit }),
        response: { 200: Integrations, ...errorReplies(401) },
      },
    },
    async (request) => {
      const limit = parseLimit(request.query.limit, 20, KEEP);
      const siteId = siteIdOf(request);
      const site = await sites.integrations(siteId);
      if (!site) throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown secret key' });
      const state = integrationsView(site);
      const id = siteId.toHexString();
      const platforms = await Promise.all(
        PLATFORMS.map(async (platform) => ({
          platform,
          url: new URL(`/api/hooks/${platform}/${id}`, app.config.publicUrl).toString(),
          ...state[platform],
          ...(await log.read(id, platform, limit)),
        })),
      );
      return { platforms };
    },
  );
};

export default integrationRoutes;
