import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp, buildWorker } from './app.js';
import type { Config } from './config.js';

/** Stops cleanly on SIGTERM/SIGINT: in-flight requests and jobs finish; a second signal forces the exit. */
function closeOnSignals(name: string, app: FastifyInstance): void {
  const log: FastifyBaseLogger = app.log;
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
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, `${name}: shutdown failed`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/** `trackmate-collector start`: the API, with the workers unless `worker` is false. */
export async function startServer(config: Config, options: { worker: boolean }): Promise<FastifyInstance> {
  const app = await buildApp(config, { worker: options.worker });
  await app.listen({ port: config.port, host: config.host });
  closeOnSignals('collector', app);
  return app;
}

/** `trackmate-collector worker`: workers only, to scale processing out. */
export async function startWorker(config: Config): Promise<FastifyInstance> {
  const app = await buildWorker(config);
  closeOnSignals('worker', app);
  return app;
}
