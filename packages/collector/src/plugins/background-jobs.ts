import { type Processor, type Queue, Worker } from 'bullmq';
import type { Config } from '../config.js';
import { redisConnection } from './connections.js';
import { createMailer } from '../campaigns/mailer.js';
import { closeQueue, createQueue, ownConnections, QUEUE_NAMES } from './queues.js';
import type { Models } from '../models/index.js';
import type { AfterInsertHook } from '../pipeline/store-events.js';
import { ownedEvents } from '../pipeline/owned-events.js';
import type { RollupFolder } from '../rollups/rollup-folder.js';
import { recordRollups } from '../rollups/record-rollups.js';
import { enterTriggers, type FireJob } from '../campaigns/trigger-entry.js';
import { triggerProcessor } from '../campaigns/trigger-worker.js';
import { fanOutWebhooks, type WebhookJob } from '../webhooks/webhook-fanout.js';
import { webhookProcessor } from '../webhooks/webhook-worker.js';

/** Queues of the background jobs: trigger delays and webhook deliveries. */
export interface JobQueues {
  triggers: Queue<FireJob>;
  webhooks: Queue<WebhookJob>;
}

/**
 * Completed jobs are kept a day: their ids (derived from entry and event) then make a re-added job a no-op,
 * so an ingest job retried after it queued its deliveries queues nothing twice.
 */
export function createJobQueues(config: Config): JobQueues {
  const keep = { removeOnComplete: { age: 86_400, count: 100_000 } };
  return {
    triggers: createQueue(config, QUEUE_NAMES.triggers, keep) as Queue<FireJob>,
    webhooks: createQueue(config, QUEUE_NAMES.webhooks, keep) as Queue<WebhookJob>,
  };
}

export async function closeJobQueues(queues: JobQueues): Promise<void> {
  await Promise.all([closeQueue(queues.triggers), closeQueue(queues.webhooks)]);
}

/**
 * The ingest worker's after-insert hook: roll-up contributions, trigger entries and webhook fan-out, for the
 * events this job is responsible for (see ownedEvents). Only fast writes and enqueues happen here: folding
 * the roll-ups and sending are left to the folder and the workers, so a slow receiver never slows ingestion.
 */
export function createJobHooks(queues: JobQueues, folder: RollupFolder): AfterInsertHook {
  return async (inserted, models, job) => {
    const events = await ownedEvents(models, inserted, job);
    if (!events.length) return;
    const fresh = events.length === inserted.length;
    if (await recordRollups(models, folder.sketches, events, job.key, fresh)) folder.kick();
    await enterTriggers(models, queues.triggers, events);
    await fanOutWebhooks(models, queues.webhooks, events);
  };
}

interface WorkerLog {
  warn(obj: object, msg: string): void;
}

function startWorker<T>(
  config: Config,
  name: string,
  processor: Processor<T>,
  concurrency: number,
  log: WorkerLog,
): Worker<T> {
  const connection = redisConnection(config, 'worker');
  connection.on('error', () => {});
  const worker = new Worker<T>(name, processor, { connection, prefix: config.queuePrefix, concurrency });
  ownConnections.set(worker, connection);
  worker.on('error', (err) => log.warn({ err: err.message }, `${name} worker connection problem`));
  worker.on('failed', (job, err) =>
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, `${name} job failed`),
  );
  return worker;
}

/** The trigger and webhook workers (close them with closeWorker from workers/ingest-worker.ts). */
export function createJobWorkers(deps: {
  config: Config;
  models: Models;
  queues: JobQueues;
  signingSecret: string;
  log: WorkerLog;
}): Worker[] {
  const { config, models, queues, log } = deps;
  const mailer = createMailer(config);
  const triggers = startWorker(
    config,
    QUEUE_NAMES.triggers,
    triggerProcessor({
      config,
      models,
      mailer,
      signingSecret: deps.signingSecret,
      webhooks: queues.webhooks,
    }),
    4,
    log,
  );
  triggers.on('closed', () => mailer.close());
  const webhooks = startWorker(config, QUEUE_NAMES.webhooks, webhookProcessor(config, models), 16, log);
  return [triggers as Worker, webhooks as Worker];
}
