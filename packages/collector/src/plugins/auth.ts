import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TrackMateError } from '../errors.js';
import { type CachedSite, KeyCache } from '../sites/index.js';
import { authClientIp } from './client-ip-header.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The site whose secret key authenticated this request (admin and server routes only). */
    site?: CachedSite;
  }
  interface FastifyInstance {
    /** Write keys and secret keys → site, through one cache (sites/key-cache.ts). */
    siteKeys: KeyCache;
    /** onRequest hook of admin routes: the site's secret key → request.site; 401 unknown, 403 an ingest-only key. */
    requireSecretKey: (request: FastifyRequest) => Promise<void>;
    /** onRequest hook of the stats routes: the secret key, or a read-only stats key of the site. */
    requireStatsKey: (request: FastifyRequest) => Promise<void>;
    /** onRequest hook of the server-event route: the secret key or the ingest-only key → request.site. */
    requireIngestKey: (request: FastifyRequest) => Promise<void>;
    /** Unknown keys per client IP (write and secret keys alike), 429 past the allowance. */
    authFailures: AuthFailures;
  }
}

/** Key authentication: sites looked up by key through the shared cache, secret keys compared by hash. */
export default fp(
  async function authPlugin(app: FastifyInstance) {
    app.decorate('siteKeys', new KeyCache(app.models));
    app.decorate('authFailures', authFailureLimit(app, app.config.rateLimitAuthFailures));
    app.decorateRequest('site', undefined);
    const authenticate = async (request: FastifyRequest, scopes: Array<CachedSite['scope']>) => {
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
      if (!match) throw new TrackMateError('TM_ERR_MISSING_SECRET');
      const key = match[1]!;
      if (!key.startsWith('sk_')) {
        throw new TrackMateError('TM_ERR_UNKNOWN_KEY', {
          message: 'Not a secret key: admin and server routes take sk_… keys',
        });
      }
      if (!app.siteKeys.knows('secret', key)) await app.authFailures.check(request, 'secret', key);
      const site = await app.siteKeys.bySecretKey(key);
      if (!site) {
        await app.authFailures.record(request);
        throw new TrackMateError('TM_ERR_UNKNOWN_KEY', { message: 'Unknown secret key' });
      }
      if (!scopes.includes(site.scope)) {
        throw new TrackMateError(
          'TM_ERR_KEY_SCOPE',
          site.retired
            ? { message: 'This key was replaced by a rotation: until its overlap ends it only sends events' }
            : site.scope === 'stats'
              ? { message: 'This is a read-only stats key: it reads /api/stats only' }
              : {},
        );
      }
      request.site = site;
    };
    app.decorate('requireSecretKey', (request: FastifyRequest) => authenticate(request, ['admin']));
    app.decorate('requireIngestKey', (request: FastifyRequest) => authenticate(request, ['admin', 'ingest']));
    app.decorate('requireStatsKey', (request: FastifyRequest) => authenticate(request, ['admin', 'stats']));
  },
  { name: 'trackmate-auth', dependencies: ['trackmate-mongo', '@fastify/rate-limit'] },
);

/**
 * Failed key lookups per client: each request with a key nobody has costs a database query, so a client that
 * keeps guessing is answered 429 before its next lookup. Known keys never count, and a client over its allowance
 * is still let through with a key some site has (KeyCache.exists: one shared query every 5 s, none per guess), so
 * nobody's guessing — from a shared address, or through the console — locks a valid key out. The client is
 * the request's address, or the visitor's address the console vouches for (client-ip-header.ts).
 */
export interface AuthFailures {
  /** Before a lookup: 429 while this client is over its allowance, unless `key` is one some site has. */
  check(request: FastifyRequest, kind?: 'write' | 'secret', key?: string): Promise<void>;
  /** After a lookup found no site. */
  record(request: FastifyRequest): Promise<void>;
}

function authFailureLimit(app: FastifyInstance, perMinute: number): AuthFailures {
  if (perMinute <= 0) return { check: async () => {}, record: async () => {} };
  const prefix = `${app.config.queuePrefix}:rl:auth-fail:`;
  const limiter = app.createRateLimit({
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `${prefix}${authClientIp(request, app.config.consoleSecret)}`,
  });
  const refuse = (ttl: number) => {
    const retryAfter = Math.max(1, Math.ceil(ttl / 1000));
    return new TrackMateError('TM_ERR_RATE_LIMITED', {
      retryAfter,
      message: `Too many unknown keys from this address; retry after ${retryAfter} s`,
    });
  };
  return {
    async check(request, kind, key) {
      const r = await limiter(request, { increment: false });
      if (r.isAllowed || !r.isExceeded) return;
      if (kind && key && (await app.siteKeys.exists(kind, key))) return;
      throw refuse(r.ttl);
    },
    async record(request: FastifyRequest) {
      await limiter(request);
    },
  };
}
