import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnqueueBatcher } from '../src/ingest/enqueue-batcher.js';
import { type IngestJob, jobEvents, type QueuedEvent } from '../src/pipeline/index.js';
import { startWorkers } from '../src/plugins/workers.js';
import { queuedEvent, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

/**
 * The API writes each request's shared fields once per job (`{ requests }`, pipeline/queued-event.ts); jobs
 * queued before (`{ events }`, each event whole) must still drain after an upgrade, and both shapes must store
 * the very same documents.
 */
describe('ingest jobs of either shape', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
  });
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  /** Requests of 1-4 events sharing what a request shares; every optional field set on some event. */
  function requests(run: string, shape: string): QueuedEvent[][] {
    return Array.from({ length: 12 }, (_, r) => {
      const receivedAt = new Date(Date.UTC(2026, 11, 7, 12, 0, r)).toISOString();
      const geo = r % 3 ? { country: 'DE', region: r % 2 ? 'DE-BE' : null } : undefined;
      return Array.from({ length: 1 + (r % 4) }, (_, i) => {
        const event = queuedEvent(t.site.siteId, {
          messageId: `${shape}-${run}-${r}-${i}`,
          anonymousId: `shapes-${run}-${r}`,
          sessionId: i % 2 ? `s-${run}-${r}` : null,
          timestamp: new Date(Date.UTC(2026, 11, 7, 11, 59, r, i)).toISOString(),
          receivedAt,
          userAgent: r % 2 ? 'Mozilla/5.0 (X11; Linux x86_64) "quoted" täst' : null,
          ip: r % 5 ? `203.0.113.${r}` : null,
          properties: { url: `https://shop.test/p/${r}-${i}?q=ü€😀`, list: [1, 'two', null, true] },
          context: i % 2 ? { page: { title: 'Line\nbreak\u2028' } } : undefined,
        });
        if (geo) event.geo = geo;
        if (i === 2) event.flags = ['consent_ignored'];
        return event;
      });
    });
  }

  it('drains jobs queued whole and jobs written per request, storing the same documents for both', async () => {
    const run = randomUUID().slice(0, 8);
    const whole = requests(run, 'whole');
    const perRequest = requests(run, 'per-request');
    // jobs queued before the upgrade: each event whole
    for (const events of whole) await t.app.queues.ingest.add('events', { events } satisfies IngestJob);
    // jobs as the API writes them now, grouped by its batcher
    const batcher = new EnqueueBatcher(t.app.queues.ingest, {
      maxEvents: 10,
      maxInFlight: 1,
      timeoutMs: 5_000,
      maxWaitingEvents: 50_000,
      jobBufferBytes: 4_096,
    });
    await Promise.all(perRequest.map((events) => batcher.enqueue(events)));
    await batcher.drain();
    const waiting = await t.app.queues.ingest.getWaiting(0, -1);
    expect(waiting.filter((j) => 'requests' in j.data).length).toBeGreaterThan(0);
    expect(waiting.flatMap((j) => jobEvents(j.data)).length).toBe(whole.flat().length * 2);

    const running = await startWorkers({
      config: { ...t.config, workerConcurrency: 2, workerBatchJobs: 4 },
      models: t.app.models,
      log: t.app.log,
      prometheus: t.app.prometheus,
      queues: t.app.queues,
      redis: t.app.redis,
    });
    try {
      const events = t.db.collection('events');
      const total = whole.flat().length * 2;
      await waitFor(
        async () => (await events.countDocuments({ anonymousId: { $regex: `^shapes-${run}-` } })) === total,
        60_000,
        `${total} stored events`,
      );
      const stored = await events.find({ anonymousId: { $regex: `^shapes-${run}-` } }).toArray();
      // each document as stored, but for what differs by construction: its _id, its job, its messageId's prefix
      const bySuffix = (shape: string) =>
        new Map(
          stored
            .filter((d) => String(d.messageId).startsWith(`${shape}-`))
            .map(({ _id, ingestJob, messageId, ...rest }) => [String(messageId).slice(shape.length), rest]),
        );
      const fromWhole = bySuffix('whole');
      const fromRequests = bySuffix('per-request');
      expect(fromWhole.size).toBe(whole.flat().length);
      expect([...fromRequests.keys()].sort()).toEqual([...fromWhole.keys()].sort());
      for (const [suffix, doc] of fromWhole) expect(fromRequests.get(suffix)).toStrictEqual(doc);
      // and what the events held reached the documents (not just the same on both sides)
      const sample = fromWhole.get(`-${run}-1-1`)!;
      expect(sample).toMatchObject({
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted" täst',
        ip: '203.0.113.1',
        sessionId: `s-${run}-1`,
        context: { page: { title: 'Line\nbreak\u2028' } },
        receivedAt: new Date(Date.UTC(2026, 11, 7, 12, 0, 1)),
      });
      expect(fromWhole.get(`-${run}-2-2`)).toMatchObject({ flags: ['consent_ignored'] });
    } finally {
      await running.close();
    }
  });

  it('writes a request whose events differ in a shared field as runs, each with its fields once', async () => {
    const run = randomUUID().slice(0, 8);
    const [first, second] = requests(run, 'runs').filter((events) => events.length === 4);
    // the third event of the first request was received later (a route that stamps events one by one)
    first![2] = { ...first![2]!, receivedAt: '2026-12-07T12:30:00.000Z' };
    const jobs: IngestJob[] = [];
    const batcher = new EnqueueBatcher(
      { add: async (_name: string, data: IngestJob) => jobs.push(JSON.parse(JSON.stringify(data))) } as never,
      { maxEvents: 100, maxInFlight: 1, timeoutMs: 5_000, maxWaitingEvents: 50_000 },
    );
    await Promise.all([batcher.enqueue(first!), batcher.enqueue(second!)]);
    await batcher.drain();
    expect(jobs).toHaveLength(1);
    const job = jobs[0] as Extract<IngestJob, { requests: unknown }>;
    expect(job.requests.map((r) => r.events.length)).toEqual([2, 1, 1, 4]);
    expect(jobEvents(job)).toStrictEqual(JSON.parse(JSON.stringify([...first!, ...second!])) as QueuedEvent[]);
  });
});
