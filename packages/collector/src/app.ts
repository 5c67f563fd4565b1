import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.js';
import { statusText, TrackMateError } from './errors.js';
import { createMetrics } from './plugins/prometheus.js';
import bodyParser from './plugins/body-parser.js';
import secretKeyAuth from './plugins/auth.js';
import services from './plugins/workers.js';
import opsRoutes from './plugins/ops-routes.js';
import sdkRoutes from './ingest/sdk-route.js';
import profileRoutes from './profiles/profile-routes.js';
import serverEventRoutes from './ingest/server-event-routes.js';
import trackEventRoutes from './ingest/track-routes.js';
import metricsRoutes from './rollups/metrics-routes.js';
import triggerRoutes from './campaigns/trigger-routes.js';
import unsubscribeRoutes from './campaigns/unsubscribe-routes.js';
import webhookRoutes from './webhooks/webhook-routes.js';

export interface BuildOptions {
  /** Run the ingest worker inside this process (default true). */
  worker?: boolean;
  logger?: FastifyServerOptions['logger'];
}

/** Builds the collector: external plugins, then app plugins, then routes. Listening is server.ts's job. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
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
    trustProxy: config.trustProxy,
    bodyLimit: 512 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('config', config);
  app.decorate('metrics', createMetrics());

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

  await app.register(bodyParser);
  await app.register(services, { worker: options.worker ?? true });
  await app.register(secretKeyAuth);

  app.addHook('onResponse', async (request, reply) => {
    app.metrics.requests.inc({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
  });

  app.setErrorHandler((err: FastifyError | TrackMateError, request, reply) => {
    const e = toTrackMateError(err);
    if (e.statusCode >= 500 && e.code !== 'TM_ERR_QUEUE_UNAVAILABLE') {
      request.log.error({ err, route: request.routeOptions.url }, 'request failed');
    } else if (e.code === 'TM_ERR_QUEUE_UNAVAILABLE') {
      request.log.warn({ cause: (e.cause as Error | undefined)?.message }, 'queue unavailable, answered 503');
    }
    if (e.retryAfter) reply.header('retry-after', String(e.retryAfter));
    return reply.code(e.statusCode).send(e.toReply());
  });
  app.setNotFoundHandler((request, reply) => {
    const e = new TrackMateError('TM_ERR_NOT_FOUND', { message: `No route ${request.method} ${request.url.split('?')[0]}` });
    return reply.code(404).send(e.toReply());
  });

  await app.register(opsRoutes);
  await app.register(sdkRoutes);
  await app.register(trackEventRoutes);
  // Routes of the server SDK, profile API and background jobs are registered below, one line each.
  await app.register(serverEventRoutes);
  await app.register(profileRoutes);
  await app.register(metricsRoutes);
  await app.register(triggerRoutes);
  await app.register(webhookRoutes);
  await app.register(unsubscribeRoutes);
  return app;
}

const FASTIFY_CODES: Record<string, TrackMateError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TM_ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TM_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'TM_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TM_ERR_INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TM_ERR_BAD_REQUEST',
};

function toTrackMateError(err: FastifyError | TrackMateError): TrackMateError {
  if (err instanceof TrackMateError) return err;
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return new TrackMateError(mapped);
  if ((err as { validation?: unknown }).validation) return new TrackMateError('TM_ERR_BAD_REQUEST', { message: err.message });
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
    return new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'The gzip body could not be decoded' });
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const e = new TrackMateError('TM_ERR_BAD_REQUEST', { message: err.message });
    (e as { statusCode: number }).statusCode = status;
    return e;
  }
  const e = new TrackMateError('TM_ERR_INTERNAL');
  e.cause = err;
  return e;
}

export { statusText };
