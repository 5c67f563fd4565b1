import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TrackMateError } from '../errors.js';
import { type CachedSite, KeyCache } from '../sites/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The site whose secret key authenticated this request (admin and server routes only). */
    site?: CachedSite;
  }
  interface FastifyInstance {
    /** Write keys and secret keys → site, through one cache (sites/key-cache.ts). */
    siteKeys: KeyCache;
    /** onRequest hook of admin/server routes: `Authorization: Bearer sk_…` → request.site, else 401. */
    requireSecretKey: (request: FastifyRequest) => Promise<void>;
  }
}

/** Key authentication: sites looked up by key through the shared cache, secret keys compared by hash. */
export default fp(
  async function authPlugin(app: FastifyInstance) {
    app.decorate('siteKeys', new KeyCache(app.models));
    app.decorateRequest('site', undefined);
    app.decorate('requireSecretKey', async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match) throw new TrackMateError('TM_ERR_MISSING_SECRET');
      const key = match[1]!;
      if (!key.startsWith('sk_')) {
        throw new TrackMateError('TM_ERR_UNKNOWN_KEY', {
          message: 'Not a secret key: admin and server routes take sk_… keys',
        });
      }
      const site = await app.siteKeys.bySecretKey(key);
      if (!site) throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown secret key' });
      request.site = site;
    });
  },
  { name: 'trackmate-auth', dependencies: ['trackmate-mongo'] },
);
