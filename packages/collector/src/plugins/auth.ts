import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TrackMateError } from '../errors.js';
import { hashSecretKey } from '../sites/keys.js';

export interface AuthenticatedSite {
  id: string;
  name: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The site whose secret key authenticated this request (admin and server routes only). */
    site?: AuthenticatedSite;
  }
  interface FastifyInstance {
    /** preHandler for admin/server routes: `Authorization: Bearer sk_…` → request.site, else 401. */
    requireSecretKey: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

interface Entry {
  site: AuthenticatedSite | null;
  expires: number;
}

/** Secret-key authentication, scoped to the key's site; keys are compared by hash, looked up via a short cache. */
export default fp(
  async function secretKeyAuth(app: FastifyInstance) {
    const cache = new Map<string, Entry>();
    app.decorate('requireSecretKey', async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match) throw new TrackMateError('TM_ERR_MISSING_SECRET');
      const key = match[1]!;
      if (!key.startsWith('sk_')) {
        throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Not a secret key: admin and server routes take sk_… keys' });
      }
      const hash = hashSecretKey(key);
      const now = Date.now();
      let entry = cache.get(hash);
      if (!entry || entry.expires <= now) {
        const doc = await app.models.Site.findOne({ secretKeyHash: hash }, { name: 1 }).lean();
        entry = { site: doc ? { id: doc._id.toString(), name: doc.name } : null, expires: now + (doc ? 30_000 : 5_000) };
        if (cache.size > 10_000) cache.clear();
        cache.set(hash, entry);
      }
      if (!entry.site) throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown secret key' });
      request.site = entry.site;
    });
  },
  { name: 'trackmate-secret-key-auth', dependencies: ['trackmate-services'] },
);
