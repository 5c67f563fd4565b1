import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { openConnections } from './plugins/connections.js';
import { closeJobQueues, createJobHooks, createJobQueues, createJobWorkers } from './plugins/background-jobs.js';
import { startRollupFolder } from './rollups/rollup-folder.js';
import { createMetrics } from './plugins/prometheus.js';
import { loadSigningSecret } from './campaigns/unsubscribe-links.js';
import { migrate } from './models/index.js';
import { closeWorker, createIngestWorker } from './pipeline/ingest-worker.js';

/** Stops cleanly on SIGTERM/SIGINT: in-flight requests and jobs finish; a second signal forces the exit. */
function onSignals(name: string, log: Pick<pino.BaseLogger, 'info' | 'warn' | 'error'>, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, `${name}: second signal, exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, `${name}: shutting down gracefully`);
    const force = setTimeout(() => {
      log.error(`${name}: shutdown took more than 30 s, exiting`);
      process.exit(1);
    }, 30_000);
    force.unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, `${name}: shutdown failed`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/** `trackmate-collector start`: the API, with the ingest worker unless `worker` is false. */
export async function startServer(config: Config, options: { worker: boolean }): Promise<FastifyInstance> {
  const app = await buildApp(config, { worker: options.worker });
  await app.listen({ port: config.port, host: config.host });
  onSignals('collector', app.log, () => app.close());
  return app;
}

/** `trackmate-collector worker`: workers only, to scale processing out. */
export async function startWorker(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel });
  const conns = await openConnections(config);
  await migrate(conns.models);
  const jobQueues = createJobQueues(config);
  const folder = startRollupFolder(config, conns.models, log);
  const hooks = [createJobHooks(jobQueues, folder)];
  const worker = createIngestWorker({ config, models: conns.models, log, metrics: createMetrics(), hooks });
  const signingSecret = await loadSigningSecret(conns.models, config);
  const jobWorkers = createJobWorkers({ config, models: conns.models, queues: jobQueues, signingSecret, log });
  log.info({ queues: ['ingest', 'triggers', 'webhooks'], concurrency: config.workerConcurrency }, 'worker started');
  onSignals('worker', log, async () => {
    await Promise.all([worker, ...jobWorkers].map((w) => closeWorker(w)));
    await closeJobQueues(jobQueues);
    await folder.stop();
    await conns.close();
  });
}
