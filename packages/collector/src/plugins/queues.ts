import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { redisConnection } from './connections.js';

/** Connections we handed to BullMQ, which does not close connections it was given. */
export const ownConnections = new WeakMap<object, Redis>();

export const QUEUE_NAMES = { ingest: 'ingest', triggers: 'triggers', webhooks: 'webhooks' } as const;

/** Retry policy of every job: exponential backoff, then dead_letters. */
export function jobOptions(config: Config): JobsOptions {
  return {
    attempts: config.jobAttempts,
    backoff: { type: 'exponential', delay: config.jobBackoffMs },
    removeOnComplete: true,
    removeOnFail: { count: 10_000 },
  };
}

/** A queue on its own fail-fast connection; `closeQueue` closes both. */
export function createQueue(config: Config, name: string, defaults: JobsOptions = {}): Queue {
  // No auto-pipelining: ioredis would build a Pipeline per tick, copying BullMQ's ~50 Lua scripts onto it — 7 %
  // of the API's CPU under load (bench/ profile) — and the enqueue batcher already groups requests into one job.
  const connection = redisConnection(config, 'client', { autoPipelining: false });
  connection.on('error', () => {});
  const queue = new Queue(name, {
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
