import type { Job, Worker } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import type { Models } from '../models/index.js';
import type { Prometheus } from '../plugins/prometheus.js';
import { createQueueWorker, QUEUE_NAMES } from '../plugins/queues.js';
import type { ProfileDocLock, ProfileKeysCopy } from '../profiles/index.js';
import { deadLetters } from './dead-letters.js';
import { type BatchOutcome, JobBatches } from './job-batches.js';
import type { LinkMirror } from './link-mirror.js';
import { type IngestJob, jobEvents, type QueuedEvent } from './queued-event.js';
import { type AfterInsertHook, type EnrichHook, type ProcessResult, processEvents } from './store-events.js';
import type { UnlinkedEvents } from './unlinked-events.js';

export interface IngestWorkerOptions {
  config: Config;
  models: Models;
  log: FastifyBaseLogger;
  prometheus?: Prometheus;
  hooks?: AfterInsertHook[];
  /** Enrichment stored on each event (analytics). */
  enrich?: EnrichHook;
  /** Suppressed ids of erased people, per site (cached by the wiring). */
  suppressions?: (siteIds: string[]) => Promise<Map<string, string[]>>;
  /** Locks the profile documents a job writes, against the profile API's changes. */
  lockProfiles?: ProfileDocLock;
  /** Records of events stored without a profile, for the back-fill when their visitor is linked. */
  unlinked?: UnlinkedEvents;
  /** The Redis copy of the sites' visitor-id links, read instead of `identities`. */
  mirror?: LinkMirror;
  /** The Redis copy of which profile holds each userId and e-mail, instead of finding profiles by key (not in retries). */
  profileKeys?: ProfileKeysCopy;
}

/** What a completed ingest job answers (progress counters read it). */
export interface IngestOutcome {
  inserted: number;
  duplicates: number;
  failed: number;
}

const jobKeyOf = (job: Job<IngestJob>) => `${job.id}@${job.timestamp}`;

/** Events a batch holds at most (a larger job is a batch of its own). */
const BATCH_EVENTS = 2_000;

/**
 * The ingest worker: stores each job's events (see processEvents). While it is behind, the jobs waiting are
 * stored together, in batches of up to TRACKMATE_WORKER_BATCH_JOBS jobs (2,000 events), TRACKMATE_WORKER_CONCURRENCY
 * batches at once: one pass of processEvents and of the after-insert hooks for the batch, so its round trips
 * (the insert, the roll-up contributions, the links and guards) are paid once for many small jobs. Each job
 * keeps its own key (`ingestJob` on its events, its roll-up contributions, its profile-facts mark), so what it
 * stores does not depend on the batch it ran in: a batch that fails is stored again job by job, and a job that
 * fails alone is retried alone. A failing job is retried with exponential backoff; after its last attempt each
 * of its events goes to dead_letters with the error. Events the database refuses for what they hold are
 * dead-lettered at once, and the rest of the job is stored. A worker killed mid-job leaves the job locked; once
 * the lock expires (TRACKMATE_WORKER_LOCK_MS) another worker takes it again, and the idempotent steps make the
 * second run store nothing twice.
 */
export function createIngestWorker({
  config,
  models,
  log,
  prometheus,
  hooks = [],
  enrich,
  suppressions,
  lockProfiles,
  unlinked,
  mirror,
  profileKeys,
}: IngestWorkerOptions): Worker<IngestJob> {
  // Each event of a job that failed for good is a dead letter of its own (a job may hold 2,000 events, more
  // than one document may), so that any of them can be replayed.
  const deadLetterJob = (job: Job<IngestJob>, reason: string) =>
    deadLetters(
      models,
      QUEUE_NAMES.ingest,
      job,
      jobEvents(job.data).map((event) => ({ payload: event, reason, siteId: event.siteId })),
    );

  /** Stores the jobs' events together, then runs the hooks once for all of them. */
  const storeTogether = async (jobs: Array<Job<IngestJob>>): Promise<IngestOutcome[]> => {
    const started = Date.now();
    const keys = jobs.map(jobKeyOf);
    const jobOf = new Map<QueuedEvent, number>();
    jobs.forEach((job, i) => {
      for (const e of jobEvents(job.data)) jobOf.set(e, i);
    });
    const events = jobs.flatMap((j) => jobEvents(j.data));
    const suppressed = suppressions
      ? new Map(
          [...(await suppressions([...new Set(events.map((e) => e.siteId))]))].map(([site, keys]) => [
            site,
            new Set(keys),
          ]),
        )
      : undefined;
    const result = await processEvents(models, events, {
      jobKey: (e) => keys[jobOf.get(e)!]!,
      suppressed,
      enrich,
      linksPerProfileDay: config.linksPerProfileDay,
      lockProfiles,
      unlinked,
      mirror,
      profileKeys: jobs.some((j) => j.attemptsMade > 0) ? undefined : profileKeys,
    });
    const jobIds = jobs.length === 1 ? jobs[0]!.id : jobs.map((j) => j.id);
    if (result.capped) {
      prometheus?.identityLinksCapped.inc(result.capped);
      log.warn({ jobId: jobIds, capped: result.capped }, 'visitor ids not linked: daily number per profile reached');
    }
    if (result.suppressed.length)
      log.info({ jobId: jobIds, dropped: result.suppressed.length }, 'events of erased people dropped');
    const failedOf = jobs.map(() => [] as ProcessResult['failed']);
    for (const f of result.failed) failedOf[jobOf.get(f.event)!]!.push(f);
    for (const [i, failed] of failedOf.entries()) {
      if (!failed.length) continue;
      await deadLetters(
        models,
        QUEUE_NAMES.ingest,
        jobs[i]!,
        failed.map(({ event, reason }) => ({ payload: event, reason, siteId: event.siteId })),
      );
    }
    const refused = new Set([...result.failed.map((f) => f.event), ...result.suppressed]);
    const stored = jobs.map((job) => jobEvents(job.data).filter((e) => !refused.has(e)));
    for (const hook of hooks)
      await hook(result.inserted, models, {
        key: keys[0]!,
        stored: stored[0]!,
        batch: jobs.length === 1 ? undefined : keys.slice(1).map((key, i) => ({ key, stored: stored[i + 1]! })),
        linked: result.linked,
        merged: result.merged,
        backfilled: result.backfilled,
      });
    if (jobs.length > 1) log.debug({ jobs: jobs.length, events: events.length }, 'ingest batch stored');
    // each inserted event names its job
    const insertedOf = new Map<string, number>();
    for (const d of result.inserted) insertedOf.set(d.ingestJob!, (insertedOf.get(d.ingestJob!) ?? 0) + 1);
    prometheus?.eventsStored.inc(result.inserted.length);
    const now = Date.now();
    return jobs.map((job, i) => {
      prometheus?.jobDuration.observe({ queue: QUEUE_NAMES.ingest }, (now - started) / 1000);
      prometheus?.jobLatency.observe({ queue: QUEUE_NAMES.ingest }, (now - job.timestamp) / 1000);
      const inserted = insertedOf.get(keys[i]!) ?? 0;
      const failed = failedOf[i]!.length;
      const dropped = jobEvents(job.data).length - stored[i]!.length - failed;
      return { inserted, duplicates: jobEvents(job.data).length - inserted - failed - dropped, failed };
    });
  };

  const batches = new JobBatches<Job<IngestJob>, IngestOutcome>(
    async (jobs) => {
      if (jobs.length === 1) return [await settle(storeTogether(jobs).then((r) => r[0]!))];
      try {
        return (await storeTogether(jobs)).map((value) => ({ ok: true as const, value }));
      } catch (err) {
        // what failed may be one job's: each is stored again on its own, and fails (or is retried) alone
        log.info({ jobs: jobs.length, err: loggable(err) }, 'ingest batch failed: its jobs are stored one by one');
        return Promise.all(jobs.map((job) => settle(storeTogether([job]).then((r) => r[0]!))));
      }
    },
    (job) => jobEvents(job.data).length,
    { running: config.workerConcurrency, maxJobs: config.workerBatchJobs, maxItems: BATCH_EVENTS },
  );
  // The jobs the worker holds at once (BullMQ's concurrency): enough to fill every batch slot with small jobs, and
  // about two batches' worth of events per slot when jobs are large (each held job's events are in memory).
  let meanSize = BATCH_EVENTS / 2;
  const holdFor = (size: number) => {
    meanSize = meanSize * 0.9 + size * 0.1;
    const perBatch = Math.min(config.workerBatchJobs, Math.max(1, Math.floor((2 * BATCH_EVENTS) / meanSize)));
    return config.workerConcurrency * perBatch;
  };

  const worker = createQueueWorker<IngestJob>(
    config,
    QUEUE_NAMES.ingest,
    async (job: Job<IngestJob>) => {
      const hold = holdFor(jobEvents(job.data).length);
      if (worker.concurrency !== hold) worker.concurrency = hold;
      try {
        return await batches.add(job);
      } catch (err) {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        log.warn({ jobId: job.id, attempt: job.attemptsMade + 1, last, err: loggable(err) }, 'ingest job failed');
        if (last) await deadLetterJob(job, (err as Error).message);
        throw err;
      }
    },
    log,
    {
      concurrency: holdFor(BATCH_EVENTS / 2),
      lockDuration: config.workerLockMs,
      stalledInterval: Math.max(1_000, Math.floor(config.workerLockMs / 2)),
      maxStalledCount: 10,
    },
  );
  worker.on('failed', (job, err) => {
    // A job that stalled too often never reached the processor's own last-attempt handling.
    if (job && /stalled/i.test(err.message)) {
      deadLetterJob(job, err.message).catch((e: unknown) =>
        log.error({ err: loggable(e) }, 'could not write dead letter'),
      );
    }
  });
  return worker;
}

const settle = <R>(p: Promise<R>): Promise<BatchOutcome<R>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
