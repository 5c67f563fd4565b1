// One round of the ingest worker as `trackmate-collector worker` runs it — BullMQ at TRACKMATE_WORKER_CONCURRENCY,
// wired as `start` and `worker` wire it (plugins/workers.ts: the after-insert hooks with the real roll-up folder,
// enrichment, the Redis copies read instead of MongoDB, made by the keeper's first round before the drain), less
// what a case leaves out to compare — draining jobs queued before it starts, on a fresh database and queue
// prefix. The A/B worker cases of bench/analytics.mjs and bench/funnels.mjs are rounds of this.
import { benchEnv, dropDatabase, dropRedisPrefix } from './lib.mjs';

const dist = new URL('../packages/collector/dist/', import.meta.url);
const { loadConfig } = await import(new URL('config.js', dist));
const { openMongo } = await import(new URL('plugins/mongo.js', dist));
const { migrate } = await import(new URL('models/index.js', dist));
const { createSite } = await import(new URL('sites/index.js', dist));
const { createIngestWorker } = await import(new URL('pipeline/index.js', dist));
const { createQueue, closeQueue, closeWorker } = await import(new URL('plugins/queues.js', dist));
const { ingestWorkerOptions, keeperCopies } = await import(new URL('plugins/workers.js', dist));
const { startUnlinkedKeeper } = await import(new URL('pipeline/index.js', dist));
const { startRollupFolder } = await import(new URL('rollups/index.js', dist));
const { Redis } = await import('ioredis');

/** A logger that says nothing (the benches print their own figures). */
export const silent = { warn() {}, info() {}, error() {}, debug() {}, trace() {}, fatal() {}, child: () => silent };

/** A deterministic pseudo-random stream, so both variants and every run see the same traffic. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Runs one round: `jobsOf(siteId)` gives each job's events; `prepare({ config, models, redis, site })` may add
 * state to the site and returns what the round leaves out or replaces (plugins/workers.ts, IngestParts:
 * `{ enrichment: false }`, `{ funnels }`); `inspect` reads what the round left ({ ...context, prepared }) before
 * everything is dropped. Resolves to
 * `{ jobs, seconds, cpuMs, concurrency, inspected }` (cpuMs: this process's CPU while draining); throws if a job failed.
 */
export async function workerRound({ jobsOf, prepare = async () => ({}), inspect = async () => undefined }) {
  const env = benchEnv();
  const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'silent' });
  const conns = await openMongo(config);
  const redis = new Redis(config.redisUrl);
  const queues = Object.fromEntries(['ingest', 'triggers', 'webhooks'].map((n) => [n, createQueue(config, n)]));
  const folder = startRollupFolder(config, conns.models, silent);
  const guards = { redis, prefix: config.queuePrefix };
  let w;
  try {
    await migrate(conns.models);
    const site = await createSite(conns.models, { name: 'bench', origins: [] });
    const context = { config, models: conns.models, redis, site };
    const prepared = await prepare(context);
    // the Redis copies (links, profile keys, guards, records of unlinked events), made before the drain as the
    // workers wait for them in production
    const keeper = startUnlinkedKeeper(
      config,
      conns.models,
      redis,
      silent,
      keeperCopies({ config, models: conns.models, redis, log: silent }, guards),
    );
    await keeper.firstRound;
    await keeper.stop();
    const jobs = jobsOf(site.siteId);
    await queues.ingest.addBulk(jobs.map((events) => ({ name: 'events', data: { events } })));
    let done = 0;
    let failed = 0;
    const drained = new Promise((resolve) => {
      const settle = () => done + failed === jobs.length && resolve();
      w = createIngestWorker(
        ingestWorkerOptions({ config, models: conns.models, log: silent, queues, redis }, folder, guards, prepared),
      );
      w.on('completed', () => {
        done++;
        settle();
      });
      w.on('failed', () => {
        failed++;
        settle();
      });
    });
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    await drained;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (failed) throw new Error(`worker round: ${failed} jobs failed`);
    return {
      jobs: jobs.length,
      seconds,
      cpuMs: (cpu.user + cpu.system) / 1000,
      concurrency: config.workerConcurrency,
      inspected: await inspect({ ...context, prepared }),
    };
  } finally {
    if (w) await closeWorker(w);
    await folder.stop();
    for (const q of Object.values(queues)) await closeQueue(q);
    redis.disconnect();
    await conns.close();
    await dropDatabase(env.MONGODB_URI);
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
  }
}
