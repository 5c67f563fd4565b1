import type { Queue, Worker } from 'bullmq';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { createEnricher, recordVisitEvents, startVisitCloser } from '../analytics/index.js';
import {
  type ActiveTriggers,
  copyGuards,
  createTriggerWorker,
  creditOrders,
  enterTriggers,
  loadActiveTriggers,
  loadSigningSecret,
  type ReentryGuards,
  requestConfirmations,
  startGuardPruning,
} from '../campaigns/index.js';
import type { Config } from '../config.js';
import { createFunnelHook } from '../funnels/index.js';
import type { Models, NewEventDoc } from '../models/index.js';
import {
  type AfterInsertHook,
  createIngestWorker,
  type HookJob,
  type IngestWorkerOptions,
  linkMirror,
  ownedParts,
  startRetention,
  startUnlinkedKeeper,
  unlinkedEvents,
} from '../pipeline/index.js';
import { copyProfileKeys, loadSuppressions, profileDocLock, profileKeysCopy } from '../profiles/index.js';
import { type RollupFolder, recordRollups, startRollupFolder } from '../rollups/index.js';
import { type FactsDeps, loadSegments, recordProfileFacts, type SiteSegments } from '../segments/index.js';
import { SiteConfigCache } from '../sites/index.js';
import { createWebhookWorker, fanOutWebhooks, loadSubscriptions, type Subscriptions } from '../webhooks/index.js';
import type { Prometheus } from './prometheus.js';
import { closeWorker, type QueueName } from './queues.js';

export interface WorkerDeps {
  config: Config;
  models: Models;
  log: FastifyBaseLogger;
  prometheus: Prometheus;
  queues: Record<QueueName, Queue>;
  redis: Redis;
}

export interface RunningWorkers {
  workers: Worker[];
  /** Lets running jobs finish, then closes the workers and the roll-up folder. */
  close(): Promise<void>;
}

/**
 * How long the workers wait at start for the keeper's first round: on FerretDB a site of a million events takes
 * minutes to copy the first time, and a drain that does not wait scans per job meanwhile.
 */
const KEEPER_WAIT_MS = 600_000;

/**
 * Every background worker of one process, wired once for `start` and `worker` alike: the ingest worker with
 * its after-insert hooks (roll-ups, trigger entries, webhook fan-out: fast writes and enqueues only, for the
 * events the job is responsible for), the trigger worker and the webhook worker.
 */
export async function startWorkers({
  config,
  models,
  log,
  prometheus,
  queues,
  redis,
}: WorkerDeps): Promise<RunningWorkers> {
  const folder = startRollupFolder(config, models, log);
  const retention = startRetention(config, models, log);
  const visitCloser = startVisitCloser(config, models, redis, log);
  const guards: ReentryGuards = { redis, prefix: config.queuePrefix };
  const guardPruning = startGuardPruning(models, guards, log);
  const unlinkedKeeper = startUnlinkedKeeper(
    config,
    models,
    redis,
    log,
    keeperCopies({ config, models, redis, log }, guards),
  );
  // The workers start once the keeper's first round is over, or after KEEPER_WAIT_MS (10 min): until a site's Redis copies
  // (links, profile keys, re-entry guards, records of unlinked events) are made, each job looks its visitors and
  // people up in MongoDB instead, a pass over the collection per lookup on FerretDB (docs/production.md).
  const waitStarted = Date.now();
  let waitTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    unlinkedKeeper.firstRound,
    new Promise<void>((resolve) => {
      waitTimer = setTimeout(resolve, KEEPER_WAIT_MS);
    }),
  ]);
  clearTimeout(waitTimer);
  if (Date.now() - waitStarted > 1_000)
    log.info({ ms: Date.now() - waitStarted }, "workers waited for the sites' Redis copies to be made");
  const signingSecret = await loadSigningSecret(models, config);
  const workers: Worker[] = [
    createIngestWorker(ingestWorkerOptions({ config, models, log, prometheus, queues, redis }, folder, guards)),
    createTriggerWorker({
      config,
      models,
      signingSecret,
      webhooks: queues.webhooks,
      triggers: queues.triggers,
      redis,
      log,
    }),
    createWebhookWorker(config, models, log),
  ];
  // each worker's own concurrency: ingest's is TRACKMATE_WORKER_CONCURRENCY, the others are set where they are made
  log.info({ concurrency: Object.fromEntries(workers.map((w) => [w.name, w.concurrency])) }, 'workers started');
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => closeWorker(w)));
      await folder.stop();
      await visitCloser.stop();
      await unlinkedKeeper.stop();
      await retention.stop();
      await guardPruning.stop();
    },
  };
}

/**
 * The Redis copies the unlinked keeper keeps complete beside its own (re-entry guards, profile keys): the same
 * list for `start`, `worker` and the benches' rounds of the ingest worker.
 */
export function keeperCopies(
  { config, models, redis, log }: Pick<WorkerDeps, 'config' | 'models' | 'redis' | 'log'>,
  guards: ReentryGuards,
): Array<(keepLock: () => Promise<unknown>) => Promise<void>> {
  return [
    async (keepLock) => {
      const triggers = await copyGuards(models, guards, keepLock);
      if (triggers) log.info({ triggers }, "triggers' re-entry guards copied to Redis");
    },
    async (keepLock) => {
      const copied = await copyProfileKeys(models, redis, config.queuePrefix, keepLock);
      if (copied.sites) log.info(copied, "sites' profile keys (userIds, e-mails) copied to Redis");
    },
  ];
}

/** What a bench may leave out of the ingest worker or put in its place, to compare with and without it. */
export interface IngestParts {
  /** Enrichment and the open visits' records in Redis (default on, as in production). */
  enrichment?: boolean;
  /** The saved funnels' step of the after-insert hook (default: funnels/'s), or null for none. */
  funnels?: Parameters<typeof createAfterInsertHook>[4] | null;
}

/**
 * The ingest worker's options as `start` and `worker` wire them: its after-insert hook, enrichment, and the Redis
 * copies it reads instead of MongoDB (links, profile keys, records of unlinked events, suppressions).
 */
export function ingestWorkerOptions(
  { config, models, log, prometheus, queues, redis }: Omit<WorkerDeps, 'prometheus'> & { prometheus?: Prometheus },
  folder: RollupFolder,
  guards: ReentryGuards,
  parts: IngestParts = {},
): IngestWorkerOptions {
  const prefix = config.queuePrefix;
  const enrichment = parts.enrichment ?? true;
  const caches = siteConfigCaches(models, redis, prefix);
  const facts: FactsDeps = { models, redis, prefix, segments: caches.segments };
  const funnels =
    parts.funnels === undefined ? createFunnelHook({ models, redis, prefix }) : (parts.funnels ?? undefined);
  const emailOrders = (events: NewEventDoc[]) => creditOrders(redis, prefix, events);
  const afterInsert = createAfterInsertHook(
    queues,
    folder,
    caches,
    facts,
    funnels,
    emailOrders,
    enrichment ? (events) => recordVisitEvents(redis, prefix, events) : undefined,
    guards,
  );
  const suppressions = new SiteConfigCache(redis, prefix, loadSuppressions(models));
  return {
    config,
    models,
    log,
    prometheus,
    hooks: [afterInsert],
    enrich: enrichment ? createEnricher({ redis, prefix }) : undefined,
    suppressions: (siteIds) => suppressions.get(siteIds),
    lockProfiles: profileDocLock(redis, prefix),
    unlinked: unlinkedEvents(models, redis, prefix),
    mirror: linkMirror(redis, prefix),
    profileKeys: profileKeysCopy(redis, prefix),
  };
}

/**
 * The ingest worker's after-insert hook: roll-up contributions, profile facts and segment membership (before the
 * triggers, whose audience filters read it), trigger entries, webhook fan-out and saved funnels (funnels/), for
 * the events each job of the call is responsible for (see ownedParts), and orders credited to the campaign or flow e-mail
 * the buyer last clicked (campaigns/email-results.ts). Only fast writes and enqueues happen here: folding
 * the roll-ups and sending are left to the folder and the workers, so a slow receiver never slows ingestion.
 */
export function createAfterInsertHook(
  queues: Pick<Record<QueueName, Queue>, 'triggers' | 'webhooks'>,
  folder: Pick<RollupFolder, 'kick' | 'sketches' | 'contributions'>,
  cached?: { activeTriggers: ActiveTriggers; subscriptions: Subscriptions },
  facts?: FactsDeps,
  funnels?: (events: NewEventDoc[], linked?: HookJob['linked'], merged?: HookJob['merged']) => Promise<void>,
  emailOrders?: (events: NewEventDoc[]) => Promise<unknown>,
  visitEvents?: (events: NewEventDoc[]) => Promise<void>,
  guards?: ReentryGuards,
): AfterInsertHook {
  return async (inserted, models, job) => {
    const parts = await ownedParts(models, inserted, job);
    const events = parts.flatMap((p) => p.events);
    if (!events.length) return;
    const fresh = parts.every((p) => p.fresh);
    // saved funnels and open visits' records touch Redis alone: they run beside the others rather than after them
    const steps = await Promise.allSettled([
      funnels?.(events, job.linked, job.merged),
      visitEvents?.(events),
      (async () => {
        if (await recordRollups(folder.contributions, folder.sketches, parts)) folder.kick();
        if (facts) await recordProfileFacts(facts, events, job.key, job.backfilled, fresh);
        await enterTriggers(models, queues.triggers, guards, events, cached?.activeTriggers);
        await fanOutWebhooks(models, queues.webhooks, events, cached?.subscriptions);
        await requestConfirmations(queues.triggers, events);
        await emailOrders?.(events);
      })(),
    ]);
    // both finished before the job fails (and is retried), so a retry never runs beside its own first attempt
    for (const step of steps) if (step.status === 'rejected') throw step.reason;
  };
}

/** Each site's active triggers and webhook subscriptions, cached per process while their version stands. */
export function siteConfigCaches(models: Models, redis: Redis, prefix: string) {
  const triggers = new SiteConfigCache(redis, prefix, loadActiveTriggers(models));
  const subscriptions = new SiteConfigCache(redis, prefix, loadSubscriptions(models));
  const segments = new SiteConfigCache(redis, prefix, loadSegments(models));
  return {
    segments: ((siteIds: string[]) => segments.get(siteIds)) as SiteSegments,
    activeTriggers: (siteIds: string[]) => triggers.get(siteIds),
    subscriptions: (siteIds: string[]) => subscriptions.get(siteIds),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Background workers running in this process (none with --no-worker). */
    workers: Worker[];
  }
}

/** The workers as a plugin: started once MongoDB is migrated, closed before the connections. */
export default fp(
  async function workersPlugin(app: FastifyInstance) {
    const running = await startWorkers({
      config: app.config,
      models: app.models,
      log: app.log,
      prometheus: app.prometheus,
      queues: app.queues,
      redis: app.redis,
    });
    app.decorate('workers', running.workers);
    app.addHook('onClose', running.close);
  },
  {
    name: 'trackmate-workers',
    dependencies: ['trackmate-mongo', 'trackmate-redis', 'trackmate-queues', 'trackmate-prometheus'],
  },
);
