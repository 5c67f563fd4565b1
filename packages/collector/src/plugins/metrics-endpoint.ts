import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrackMateError } from '../errors.js';

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)),
  ]);

/** The Prometheus text of this process, with the depth and lag of every queue read now. */
export async function renderMetrics(app: FastifyInstance): Promise<string> {
  await Promise.all(
    Object.entries(app.queues).map(async ([name, queue]) => {
      try {
        const [counts, oldest] = await within(
          Promise.all([
            queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
            queue.getJobs(['waiting', 'prioritized'], 0, 0, true),
          ]),
          1_000,
        );
        for (const [state, n] of Object.entries(counts)) app.prometheus.queueDepth.set({ queue: name, state }, n);
        const age = oldest[0] ? Math.max(0, (Date.now() - oldest[0].timestamp) / 1000) : 0;
        app.prometheus.queueOldestAge.set({ queue: name }, age);
      } catch {
        // Redis away: the gauges keep their last values; /ready says why
      }
    }),
  );
  await Promise.all(app.prometheus.beforeScrape.map((read) => within(read(), 1_000).catch(() => {})));
  return app.prometheus.registry.metrics();
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * Who may read /metrics on the API address (queue depths, request counts by route and status tell an outsider
 * how busy the shop is): with TRACKMATE_METRICS_TOKEN, whoever sends it as a Bearer token; without, only a
 * client on this machine that came through no proxy (a proxy on the same host would make every visitor look
 * local, so a request carrying X-Forwarded-For or Forwarded is not one).
 */
export function checkMetricsAccess(app: FastifyInstance, request: FastifyRequest): void {
  const token = app.config.metricsToken;
  if (token) {
    const sent = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (sent && timingSafeEqual(digest(sent), digest(token))) return;
    throw new TrackMateError('TM_ERR_METRICS_FORBIDDEN', {
      statusCode: 401,
      message: '/metrics takes Authorization: Bearer <TRACKMATE_METRICS_TOKEN>',
    });
  }
  const proxied = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
  if (!proxied && LOOPBACK.test(request.socket.remoteAddress ?? '')) return;
  throw new TrackMateError('TM_ERR_METRICS_FORBIDDEN');
}

/**
 * TRACKMATE_METRICS_LISTEN: /metrics on an address of its own (a private interface or port the internet does not
 * reach), opened when the API starts listening and closed with it. It answers /metrics and nothing else.
 */
export function serveMetricsSeparately(app: FastifyInstance): void {
  const address = app.config.metricsListen;
  if (!address) return;
  let server: Server | undefined;
  app.addHook('onListen', async () => {
    server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: this address serves GET /metrics only\n');
        return;
      }
      renderMetrics(app).then(
        (text) => res.writeHead(200, { 'content-type': app.prometheus.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(address.port, address.host, () => resolve());
    });
    app.log.info({ address: server.address() }, 'metrics listening');
  });
  app.addHook('onClose', async () => {
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  });
}
