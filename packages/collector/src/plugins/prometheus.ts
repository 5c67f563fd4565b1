import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus metrics of this process (served at /metrics); not the business roll-ups of rollups/. */
    prometheus: Prometheus;
  }
}

/** Prometheus metrics of one collector process (its own registry, so tests can run several). */
export function createPrometheus() {
  const registry = new Registry();
  // answers counted in a map by one string key and added to the counter when it is read: prom-client's inc({ … })
  // hashes and validates its label object on every call (the track endpoints' hot path)
  const answers = new Map<string, { labels: { method: string; route: string; status: string }; count: number }>();
  return {
    registry,
    requests: new Counter({
      name: 'trackmate_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
      collect() {
        for (const tally of answers.values()) {
          if (tally.count) this.inc(tally.labels, tally.count);
          tally.count = 0;
        }
      },
    }),
    /** Counts one answer in `requests`. */
    countRequest(method: string, route: string, status: number): void {
      const key = `${method} ${status} ${route}`;
      const tally = answers.get(key);
      if (tally) tally.count++;
      else answers.set(key, { labels: { method, route, status: String(status) }, count: 1 });
    },
    eventsAccepted: new Counter({
      name: 'trackmate_events_accepted_total',
      help: 'Events acknowledged with 202 (durable in Redis)',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'trackmate_events_rejected_total',
      help: 'Events rejected by validation',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    identityLinksCapped: new Counter({
      name: 'trackmate_identity_links_capped_total',
      help: 'Visitor ids a browser identify did not link: their profile had reached its daily number (TRACKMATE_LINKS_PER_PROFILE_DAY)',
      registers: [registry],
    }),
    eventsStored: new Counter({
      name: 'trackmate_events_stored_total',
      help: 'Events inserted into MongoDB by this process',
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'trackmate_job_duration_seconds',
      help: 'Time from job start to completion',
      labelNames: ['queue'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    jobLatency: new Histogram({
      name: 'trackmate_job_latency_seconds',
      help: 'Time from enqueue to job completion',
      labelNames: ['queue'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'trackmate_queue_depth',
      help: 'Jobs per queue and state (waiting, active, delayed, failed, prioritized)',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
    queueOldestAge: new Gauge({
      name: 'trackmate_queue_oldest_job_age_seconds',
      help: 'Age of the oldest job waiting in each queue (the lag of its workers); 0 when none waits',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    backlogEvents: new Gauge({
      name: 'trackmate_ingest_backlog_events',
      help: 'Events waiting in the ingest queue (waiting jobs × average events per job), as backpressure sees it',
      registers: [registry],
    }),
    redisMemoryShare: new Gauge({
      name: 'trackmate_redis_memory_share',
      help: 'used_memory / maxmemory of Redis (0 without maxmemory)',
      registers: [registry],
    }),
    refusing: new Gauge({
      name: 'trackmate_ingest_refusing',
      help: '1 while the track endpoints answer 503 because the backlog is over its limit',
      registers: [registry],
    }),
    consentConfirmationsRefused: new Counter({
      name: 'trackmate_consent_confirmations_refused_total',
      help: 'Double opt-in e-mails not sent, by reason (cooldown, daily_cap), over every worker of the installation',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    /** Read before each scrape: figures kept in Redis, shared by every process (features add theirs). */
    beforeScrape: [] as Array<() => Promise<void>>,
  };
}

export type Prometheus = ReturnType<typeof createPrometheus>;

/** Decorates `prometheus` and counts every answer by route and status. */
export default fp(
  async function prometheusPlugin(app: FastifyInstance) {
    app.decorate('prometheus', createPrometheus());
    // callback style: no promise per request
    app.addHook('onResponse', (request, reply, done) => {
      app.prometheus.countRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
      done();
    });
  },
  { name: 'trackmate-prometheus' },
);
