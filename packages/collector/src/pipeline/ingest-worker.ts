import type { Job, Worker } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import type { Models } from '../models/index.js';
import type { Prometheus } from '../plugins/prometheus.js';
import { createQueueWorker, QUEUE_NAMES } from '../plugins/queues.js';
import type { ProfileDocLock } from '../profiles/index.js';
import { deadLetters } from './dead-letters.js';
import type { LinkMirror } from './link-mirror.js';
import type { IngestJob } from './queued-event.js';
import { type AfterInsertHook, type EnrichHook, processEvents } from './store-events.js';
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
}

/**
 * The ingest worker: stores each job's events (see processEvents). A failing job is retried with exponential
 * backoff; after its last attempt each of its events goes to dead_letters with the error. Events the database
 * refuses for what they hold are dead-lettered at once, and the rest of the job is stored. A worker killed mid-job
 * leaves the job locked; once the lock expires (TRACKMATE_WORKER_LOCK_MS) another worker takes it again,
 * and the idempotent steps make the second run store nothing twice.
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
}: IngestWorkerOptions): Worker<IngestJob> {
  // Each event of a job that failed for good is a dead letter of its own (a job may hold 2,000 events, more
  // than one document may), so that any of them can be replayed.
  const deadLetterJob = (job: Job<IngestJob>, reason: string) =>
    deadLetters(
      models,
      QUEUE_NAMES.ingest,
      job,
      job.data.events.map((event) => ({ payload: event, reason, siteId: event.siteId })),
    );
  const worker = createQueueWorker<IngestJob>(
    config,
    QUEUE_NAMES.ingest,
    async (job: Job<IngestJob>) => {
      const started = Date.now();
      try {
        const jobKey = `${job.id}@${job.timestamp}`;
        const suppressed = suppressions
          ? new Map(
              [...(await suppressions([...new Set(job.data.events.map((e) => e.siteId))]))].map(([site, keys]) => [
                site,
                new Set(keys),
              ]),
            )
          : undefined;
        const result = await processEvents(models, job.data.events, {
          jobKey,
          suppressed,
          enrich,
          linksPerProfileDay: config.linksPerProfileDay,
          lockProfiles,
          unlinked,
          mirror,
        });
        if (result.capped) {
          prometheus?.identityLinksCapped.inc(result.capped);
          log.warn(
            { jobId: job.id, capped: result.capped },
            'visitor ids not linked: daily number per profile reached',
          );
        }
        if (result.suppressed.length)
          log.info({ jobId: job.id, dropped: result.suppressed.length }, 'events of erased people dropped');
        await deadLetters(
          models,
          QUEUE_NAMES.ingest,
          job,
          result.failed.map(({ event, reason }) => ({ payload: event, reason, siteId: event.siteId })),
        );
        const refused = new Set([...result.failed.map((f) => f.event), ...result.suppressed]);
        const stored = job.data.events.filter((e) => !refused.has(e));
        for (const hook of hooks)
          await hook(result.inserted, models, {
            key: jobKey,
            stored,
            linked: result.linked,
            merged: result.merged,
            backfilled: result.backfilled,
          });
        prometheus?.eventsStored.inc(result.inserted.length);
        prometheus?.jobDuration.observe({ queue: QUEUE_NAMES.ingest }, (Date.now() - started) / 1000);
        prometheus?.jobLatency.observe({ queue: QUEUE_NAMES.ingest }, (Date.now() - job.timestamp) / 1000);
        return { inserted: result.inserted.length, duplicates: result.duplicates, failed: result.failed.length };
      } catch (err) {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        log.warn({ jobId: job.id, attempt: job.attemptsMade + 1, last, err: loggable(err) }, 'ingest job failed');
        if (last) await deadLetterJob(job, (err as Error).message);
        throw err;
      }
    },
    log,
    {
      concurrency: config.workerConcurrency,
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
