import { createHash } from 'node:crypto';
import { Job, type JobJson, type JobsOptions, type Processor, Queue, Worker, type WorkerOptions } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import { redisConnection } from './redis.js';

/**
 * BullMQ plumbing shared by every feature that owns a queue: one fail-fast connection per queue, one blocking
 * connection per worker, the retry policy, and ids that make adding the same work twice a no-op.
 */
export const QUEUE_NAMES = { ingest: 'ingest', triggers: 'triggers', webhooks: 'webhooks' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** Connections handed to BullMQ, which does not close connections it was given. */
const ownConnections = new WeakMap<object, Redis>();

/** Retry policy of every job: exponential backoff, then dead_letters. */
export function jobOptions(config: Config): JobsOptions {
  return {
    attempts: config.jobAttempts,
    backoff: { type: 'exponential', delay: config.jobBackoffMs },
    removeOnComplete: true,
    removeOnFail: { count: 10_000 },
  };
}

/**
 * Job data handed to a queue already serialized: `json` holds exactly the bytes BullMQ would write for it
 * (JSON.stringify of the data, UTF-8), and the collector's queues write them as they are. The ingest group
 * commit builds a job's JSON from its requests' events, each request's serialized once when it was enqueued:
 * BullMQ then neither serializes the whole job again nor has ioredis measure the string twice (both showed in a
 * bench/ profile of 100-event batches), and a request's objects are garbage before the Redis write. A queue that
 * does not know this class (a plain BullMQ one) writes what `toJSON` answers: the same JSON.
 */
export abstract class SerializedData {
  abstract readonly json: Buffer;

  toJSON(): unknown {
    return JSON.parse(this.json.toString('utf8'));
  }
}

/** A job whose data may be SerializedData, written as its bytes (ioredis sends a Buffer argument unchanged). */
class SerializedDataJob<T> extends Job<T> {
  override asJSON(): JobJson {
    const data: unknown = this.data;
    if (!(data instanceof SerializedData)) return super.asJSON();
    this.data = undefined as T; // BullMQ's own serialization then writes '{}', replaced below
    try {
      // typed string by BullMQ, but only ever passed on as a Redis argument, which a Buffer can be
      const json = super.asJSON(); // a fresh object: set in place, not spread into another (V8's slow path)
      json.data = data.json as unknown as string;
      return json;
    } finally {
      this.data = data as T;
    }
  }
}

/** BullMQ's queue, writing SerializedData as it is. */
class CollectorQueue<T> extends Queue<T> {
  protected override get Job(): typeof Job {
    return SerializedDataJob as typeof Job;
  }
}

/** A queue on its own fail-fast connection; `closeQueue` closes both. */
export function createQueue<T>(config: Config, name: QueueName, defaults: JobsOptions = {}): Queue<T> {
  // No auto-pipelining: ioredis would build a Pipeline per tick, copying BullMQ's ~50 Lua scripts onto it — 7 %
  // of the API's CPU under load (bench/ profile) — and the enqueue batcher already groups requests into one job.
  const connection = redisConnection(config, 'client', { autoPipelining: false });
  const queue = new CollectorQueue<T>(name, {
    connection,
    prefix: config.queuePrefix,
    defaultJobOptions: { ...jobOptions(config), ...defaults },
  });
  queue.on('error', () => {}); // surfaced as 503 by whoever adds jobs
  ownConnections.set(queue, connection);
  return queue;
}

export async function closeQueue(queue: Queue): Promise<void> {
  await queue.close().catch(() => {});
  ownConnections.get(queue)?.disconnect();
}

export interface WorkerLog {
  warn(obj: object, msg: string): void;
}

/** A worker on its own blocking connection; connection trouble and failed jobs are logged, never thrown. */
export function createQueueWorker<T>(
  config: Config,
  name: QueueName,
  processor: Processor<T>,
  log: WorkerLog,
  options: Partial<WorkerOptions> = {},
): Worker<T> {
  const connection = redisConnection(config, 'worker');
  const worker = new Worker<T>(name, processor, { connection, prefix: config.queuePrefix, ...options });
  ownConnections.set(worker, connection);
  worker.on('error', (err) => log.warn({ err: loggable(err) }, `${name} worker connection problem`));
  worker.on('failed', (job, err) =>
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: loggable(err) }, `${name} job failed`),
  );
  return worker;
}

/**
 * Completed jobs are kept a while for their ids (a re-added job is then a no-op), but not their bodies: once a
 * job completes its data is replaced by what `keep` returns (ids and outcome, no personal data), so an erased
 * person's e-mail and name do not wait in Redis for the completed job to expire. Best effort: a process that
 * dies between completing a job and this leaves that one body until the job expires.
 */
export function scrubWhenCompleted<T>(worker: Worker<T>, keep: (data: T) => T): void {
  worker.on('completed', (job) => {
    job.updateData(keep(job.data)).catch(() => {}); // already removed or expired: nothing left to scrub
  });
}

/** Lets running jobs finish, then closes the worker and its connection. */
export async function closeWorker(worker: Worker): Promise<void> {
  await worker.close();
  ownConnections.get(worker)?.disconnect();
}

/** A BullMQ job id derived from a natural key (ids may not contain ':'), so adding the same work twice is a no-op. */
export const jobIdFor = (prefix: string, naturalKey: string) =>
  `${prefix}-${createHash('sha256').update(naturalKey).digest('hex').slice(0, 40)}`;

declare module 'fastify' {
  interface FastifyInstance {
    /** Every queue of the installation, on fail-fast connections: producers add to them, /metrics counts them. */
    queues: Record<QueueName, Queue>;
  }
}

/**
 * The queues, opened once per process. Completed trigger and webhook jobs are kept a day: their ids (derived
 * from entry and event) then make a re-added job a no-op, so an ingest job retried after it queued its
 * deliveries queues nothing twice. Closed after everything that adds to them.
 */
export default fp(
  async function queuesPlugin(app: FastifyInstance) {
    const keepADay = { removeOnComplete: { age: 86_400, count: 100_000 } };
    const queues: Record<QueueName, Queue> = {
      ingest: createQueue(app.config, QUEUE_NAMES.ingest),
      triggers: createQueue(app.config, QUEUE_NAMES.triggers, keepADay),
      webhooks: createQueue(app.config, QUEUE_NAMES.webhooks, keepADay),
    };
    app.decorate('queues', queues);
    app.addHook('onClose', async () => {
      await Promise.all(Object.values(queues).map(closeQueue));
    });
  },
  { name: 'trackmate-queues' },
);
