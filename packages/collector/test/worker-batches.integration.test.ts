import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestJob, QueuedEvent } from '../src/pipeline/index.js';
import { startWorkers } from '../src/plugins/workers.js';
import { queuedEvent, shuffle, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

/**
 * The ingest worker stores the jobs waiting for it together (pipeline/job-batches.ts). What it stores must not
 * depend on that: each event once, with its own job's key, visitors linked across jobs of one batch, roll-ups
 * and profile facts counting every event exactly once, and each job answering its own counts.
 */
describe('ingest jobs stored in batches', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
  });
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  /** Workers of this process with the given settings and logger (the test's backlog is already queued). */
  const startWith = (settings: { workerConcurrency: number; workerBatchJobs: number }, log: FastifyBaseLogger) =>
    startWorkers({
      config: { ...t.config, ...settings },
      models: t.app.models,
      log,
      prometheus: t.app.prometheus,
      queues: t.app.queues,
      redis: t.app.redis,
    });
  /** Until no ingest job waits or runs. */
  const drained = (timeoutMs: number) =>
    waitFor(
      async () => {
        const counts = await t.app.queues.ingest.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      timeoutMs,
      'backlog drained',
    );

  it('stores a backlog of small jobs together, each event once, linked, counted once, each job answering its own', async () => {
    const site = t.site.siteId;
    const run = randomUUID().slice(0, 8);
    const visitor = (v: number) => `batch-${run}-${v}`;
    const email = (v: number) => `batch-${run}-${v}@example.com`;
    const view = (v: number) => queuedEvent(site, { anonymousId: visitor(v) });
    const jobs: QueuedEvent[][] = [];
    for (let v = 0; v < 30; v++) {
      jobs.push([view(v), view(v)], [view(v)]);
      if (v < 10) {
        jobs.push([
          queuedEvent(site, {
            anonymousId: visitor(v),
            name: 'identify',
            properties: { email: email(v) },
            profile: { email: email(v), consentSource: 'identify' },
          }),
        ]);
      }
    }
    // a client's retry: the first job's first event again, with a new one
    jobs.push([structuredClone(jobs[0]![0]!), view(0)]);
    const unique = new Set(jobs.flat().map((e) => e.messageId));
    const added = await t.app.queues.ingest.addBulk(
      shuffle(jobs).map((events) => ({ name: 'events', data: { events } })),
    );

    const batches: number[] = [];
    const log = Object.create(t.app.log) as FastifyBaseLogger;
    log.debug = ((obj: { jobs?: number }, msg?: string) => {
      if (msg === 'ingest batch stored' && obj.jobs) batches.push(obj.jobs);
    }) as FastifyBaseLogger['debug'];
    const running = await startWith({ workerConcurrency: 2, workerBatchJobs: 8 }, log);
    const answers = new Map<string, { inserted: number; duplicates: number; failed: number }>();
    running.workers.find((w) => w.name === 'ingest')!.on('completed', (job, answer) => answers.set(job.id!, answer));
    try {
      await drained(120_000);
      // jobs were stored together
      expect(Math.max(...batches)).toBeGreaterThan(1);
      expect(batches.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(jobs.length);

      // each event once, its `ingestJob` one of the jobs that carried it
      const stored = await t.db
        .collection<{ messageId: string; anonymousId: string; profileId: unknown; ingestJob: string; name: string }>(
          'events',
        )
        .find({ anonymousId: { $regex: `^batch-${run}-` } })
        .toArray();
      expect(stored.length).toBe(unique.size);
      expect(new Set(stored.map((e) => e.messageId)).size).toBe(unique.size);
      const keysOf = new Map<string, Set<string>>();
      for (const job of added as Array<Job<IngestJob>>)
        for (const e of job.data.events) {
          const keys = keysOf.get(e.messageId) ?? new Set<string>();
          keys.add(`${job.id}@${job.timestamp}`);
          keysOf.set(e.messageId, keys);
        }
      for (const e of stored) expect(keysOf.get(e.messageId)?.has(e.ingestJob)).toBe(true);

      // every event of an identified visitor carries the visitor's profile, whichever batch it came in
      const links = await t.db
        .collection<{ anonymousId: string; profileId: { toString(): string } }>('identities')
        .find({ anonymousId: { $regex: `^batch-${run}-` } })
        .toArray();
      expect(links.length).toBe(10);
      const linkOf = new Map(links.map((l) => [l.anonymousId, l.profileId.toString()]));
      for (const e of stored) expect(e.profileId?.toString() ?? null).toBe(linkOf.get(e.anonymousId) ?? null);

      // profile facts count each of a person's events once, from whichever job and batch, whichever job linked the
      // visitor (page views stored while another batch links their visitor are counted by the job that back-fills
      // them: test/profile-facts-races.integration.test.ts forces those orders)
      for (let v = 0; v < 10; v++) {
        const facts = await t.db
          .collection<{ counts: Record<string, number> }>('profile_facts')
          .findOne({ _id: links.find((l) => l.anonymousId === visitor(v))!.profileId } as never);
        const mine = stored.filter((e) => e.anonymousId === visitor(v));
        expect(facts?.counts).toEqual({ page_view: mine.filter((e) => e.name === 'page_view').length, identify: 1 });
      }

      // roll-ups: the page views of this run, each once
      const views = stored.filter((e) => e.name === 'page_view').length;
      const day = new Date().toISOString().slice(0, 10);
      expect(views).toBe(30 * 3 + 1);
      const rolledUp = async () =>
        (
          await t.db
            .collection<{ count: number }>('metrics_daily')
            .findOne({ _id: `${site}:${day}:page_view` } as never)
        )?.count;
      await waitFor(
        async () =>
          (await t.app.redis.exists(`${t.config.queuePrefix}:rollup-pending:${site}:${day}:page_view`)) === 0 &&
          (await rolledUp()) === views,
        30_000,
        'roll-ups folded',
      );
      expect(await rolledUp()).toBe(views);

      // each job answered its own counts: the retried message is one job's duplicate
      const results = (added as Array<Job<IngestJob>>).map((j) => answers.get(j.id!));
      const sum = (k: 'inserted' | 'duplicates' | 'failed') => results.reduce((n, r) => n + (r?.[k] ?? 0), 0);
      expect(results.every((r) => r && typeof r.inserted === 'number')).toBe(true);
      expect(sum('inserted')).toBe(unique.size);
      expect(sum('duplicates')).toBe(1);
      expect(sum('failed')).toBe(0);
      for (const [i, job] of (added as Array<Job<IngestJob>>).entries()) {
        expect(results[i]!.inserted + results[i]!.duplicates).toBe(job.data.events.length);
      }
    } finally {
      await running.close();
    }
  }, 240_000);
  it("stores a failing batch's jobs again one by one: the others are stored, only the failing job fails", async () => {
    const site = t.site.siteId;
    const run = randomUUID().slice(0, 8);
    const good = Array.from({ length: 20 }, (_, v) => [queuedEvent(site, { anonymousId: `iso-${run}-${v}` })]);
    // a job the pipeline cannot store (its site id is no id), which fails whatever batch it is in
    const bad = [queuedEvent('not-a-site-id', { anonymousId: `iso-${run}-bad` })];
    await t.app.queues.ingest.addBulk([
      ...good.slice(0, 10).map((events) => ({ name: 'events', data: { events } })),
      { name: 'events', data: { events: bad }, opts: { attempts: 1 } },
      ...good.slice(10).map((events) => ({ name: 'events', data: { events } })),
    ]);
    const notes: string[] = [];
    const log = Object.create(t.app.log) as FastifyBaseLogger;
    log.info = ((_: unknown, msg?: string) => {
      if (msg) notes.push(msg);
    }) as FastifyBaseLogger['info'];
    const running = await startWith({ workerConcurrency: 1, workerBatchJobs: 32 }, log);
    try {
      await drained(60_000);
      expect(notes).toContain('ingest batch failed: its jobs are stored one by one');
      const stored = await t.db.collection('events').countDocuments({ anonymousId: { $regex: `^iso-${run}-` } });
      expect(stored).toBe(20);
      const dead = await t.db
        .collection<{ payload: { messageId: string }; reason: string }>('dead_letters')
        .find({ 'payload.messageId': bad[0]!.messageId })
        .toArray();
      expect(dead.length).toBe(1);
      expect(dead[0]!.reason).toMatch(/hex string|ObjectId|BSON/i);
    } finally {
      await running.close();
    }
  }, 120_000);
});
