import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { openGeo, statsKeyRoutes, statsRoutes } from './analytics/index.js';
import { attributionRoutes } from './attribution/index.js';
import { campaignRoutes, clickRoute, dropSiteCampaignKeys, openRoute } from './campaigns/index.js';
import type { Config } from './config.js';
import { loggable, TrackMateError } from './errors.js';
import { eventRoutes } from './events/index.js';
import { erasePersonFromFunnels, funnelRoutes, savedFunnelRoutes } from './funnels/index.js';
import { ingestRoutes } from './ingest/index.js';
import { hookRoutes, integrationRoutes, pixelRoute } from './integrations/index.js';
import { eraseQueued, linkMirror, pipelineRoutes, unlinkedEvents } from './pipeline/index.js';
import auth from './plugins/auth.js';
import bodyParser from './plugins/body-parser.js';
import mongo from './plugins/mongo.js';
import opsRoutes from './plugins/ops-routes.js';
import prometheus from './plugins/prometheus.js';
import queues from './plugins/queues.js';
import { rateLimitOptions } from './plugins/rate-limits.js';
import redis from './plugins/redis.js';
import workers from './plugins/workers.js';
import { profileRoutes, profileSearchRoutes } from './profiles/index.js';
import { metricsRoutes, topPagesRoutes } from './rollups/index.js';
import { dropSiteSegmentKeys, reevaluateProfiles, segmentRoutes } from './segments/index.js';
import { siteRoutes } from './sites/index.js';
import { webhookActionRoutes, webhookRoutes } from './webhooks/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
  }
}

export interface BuildOptions {
  /** Run the background workers inside this process (default true). */
  worker?: boolean;
  logger?: FastifyServerOptions['logger'];
}

/**
 * Builds the collector, read top-down: external plugins (docs, rate limiting), then app plugins (body parser,
 * metrics, MongoDB, Redis, queues, key auth, workers), then each feature's routes. Listening is server.ts's job.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = createInstance(config, options);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'TrackMate collector',
        version: '0.1.0',
        description: 'Event ingestion, profiles and operations API of a self-hosted TrackMate collector.',
      },
      components: {
        securitySchemes: {
          secretKey: { type: 'http', scheme: 'bearer', description: 'A site secret key, sk_…' },
          writeKey: { type: 'apiKey', in: 'header', name: 'X-TrackMate-Key', description: 'A site write key, pk_…' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, rateLimitOptions(app));

  await app.register(bodyParser);
  await registerServices(app, options.worker ?? true);
  await app.register(auth);

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    const e = new TrackMateError('TM_ERR_NOT_FOUND', {
      message: `No route ${request.method} ${request.url.split('?')[0]}`,
    });
    return reply.code(404).send(e.toReply());
  });

  await app.register(opsRoutes);
  await app.register(ingestRoutes, { feeds: [hookRoutes, pixelRoute, clickRoute, openRoute], geo: geoOf(config) });
  await app.register(profileRoutes, {
    eraseQueued: (ids) => eraseQueued(app.queues, ids),
    profileChanged: (siteId, profileId) =>
      reevaluateProfiles({ models: app.models, redis: app.redis, prefix: app.config.queuePrefix }, siteId, [profileId]),
    personErased: async (siteId, profileId, visitorIds) => {
      await erasePersonFromFunnels(
        { models: app.models, redis: app.redis, prefix: app.config.queuePrefix },
        siteId,
        profileId,
        visitorIds,
      );
      await unlinkedEvents(app.models, app.redis, app.config.queuePrefix).erase(siteId.toHexString(), visitorIds);
      // the person's links are gone from `identities`: the site's Redis copy of its links is re-made
      await linkMirror(app.redis, app.config.queuePrefix).invalidate([siteId.toHexString()]);
    },
  });
  await app.register(profileSearchRoutes);
  await app.register(eventRoutes);
  await app.register(pipelineRoutes);
  await app.register(metricsRoutes);
  await app.register(topPagesRoutes);
  await app.register(statsRoutes);
  await app.register(statsKeyRoutes);
  await app.register(funnelRoutes);
  await app.register(savedFunnelRoutes);
  await app.register(attributionRoutes);
  await app.register(campaignRoutes);
  await app.register(segmentRoutes);
  await app.register(webhookRoutes);
  await app.register(webhookActionRoutes);
  // a site's deletion drops the campaigns' and segments' Redis keys too (sites/ knows no other feature's keys)
  await app.register(siteRoutes, { keyCleaners: [dropSiteCampaignKeys, dropSiteSegmentKeys] });
  await app.register(integrationRoutes);
  return app;
}

/** The country database, opened once per process that takes requests (TRACKMATE_GEO=off: none). */
function geoOf(config: Config) {
  if (!config.geo) return null;
  const geo = openGeo(config.geoDatabase);
  return (ip: string | undefined) => geo.lookup(ip);
}

/** `trackmate-collector worker`: the same services and workers as `start`, without HTTP routes. */
export async function buildWorker(
  config: Config,
  options: Pick<BuildOptions, 'logger'> = {},
): Promise<FastifyInstance> {
  const app = createInstance(config, options);
  await registerServices(app, true);
  await app.ready();
  return app;
}

function createInstance(config: Config, options: BuildOptions) {
  const app = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      // no personal data in logs: no IPs, no bodies, no keys
      redact: ['req.headers.authorization', 'req.headers["x-trackmate-key"]', 'req.headers.cookie'],
      serializers: {
        req: (req) => ({ method: req.method, url: req.url?.replace(/writeKey=[^&]+/, 'writeKey=***') }),
      },
    },
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: trustProxyOf(config.trustProxy),
    bodyLimit: 512 * 1024,
    return503OnClosing: true,
    // start-up migrations (indexes, the profile-key back-fill) can take long on a large or busy database
    pluginTimeout: 300_000,
    // headers sent one byte a second must not hold a socket for ever either (the body: see body-parser.ts)
    requestTimeout: config.requestTimeoutMs,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('config', config);
  return app;
}

/** A hop count as fastify's trust function (the nearest `hops` addresses are proxies); else as configured. */
function trustProxyOf(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust;
}

/**
 * Services in dependency order; fastify closes them in reverse, so on shutdown requests in flight finish,
 * then queued writes, then jobs, then queues, then the connections.
 */
async function registerServices(app: FastifyInstance, withWorkers: boolean): Promise<void> {
  await app.register(prometheus);
  await app.register(mongo);
  await app.register(redis);
  await app.register(queues);
  if (withWorkers) await app.register(workers);
  else app.decorate('workers', []);
}

const FASTIFY_CODES: Record<string, TrackMateError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TM_ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TM_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'TM_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TM_ERR_INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TM_ERR_BAD_REQUEST',
};

/** Every failure answers `{ statusCode, code, error, message }` from the TM_ERR_* table. */
function toTrackMateError(err: FastifyError | TrackMateError): TrackMateError {
  if (err instanceof TrackMateError) return err;
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return new TrackMateError(mapped);
  if (err.validation) return new TrackMateError('TM_ERR_BAD_REQUEST', { message: err.message });
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
    return new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'The gzip body could not be decoded' });
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500)
    return new TrackMateError('TM_ERR_BAD_REQUEST', { message: err.message, statusCode: status });
  return new TrackMateError('TM_ERR_INTERNAL', { cause: err });
}

function errorHandler(
  this: FastifyInstance,
  err: FastifyError | TrackMateError,
  request: Parameters<FastifyInstance['errorHandler']>[1],
  reply: Parameters<FastifyInstance['errorHandler']>[2],
) {
  const e = toTrackMateError(err);
  if (e.code === 'TM_ERR_QUEUE_UNAVAILABLE') {
    request.log.warn({ cause: loggable(e.cause) }, 'queue unavailable, answered 503');
  } else if (e.statusCode >= 500) {
    // the message masked (no personal data in logs), the stack without its first line (the message again)
    const stack = (err as Error).stack?.split('\n').slice(1).join('\n');
    request.log.error(
      { err: loggable(err), name: (err as Error).name, stack, route: request.routeOptions.url },
      'request failed',
    );
  }
  // A refused origin's 403 stays readable by the page (its CORS headers were set on the way in): the SDK then
  // drops those events instead of retrying what it would take for a network error for days. Pre-flights of
  // refused origins get no CORS headers, so nothing that needs one is ever sent.
  if (e.retryAfter) reply.header('retry-after', String(e.retryAfter));
  return reply.code(e.statusCode).send(e.toReply());
}
