import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestWorker, type IngestJob, jobEvents, processEvents } from '../src/pipeline/index.js';
import { closeWorker } from '../src/plugins/queues.js';
import { createAfterInsertHook } from '../src/plugins/workers.js';
import { type RollupFolder, startRollupFolder } from '../src/rollups/index.js';
import { foldPending } from '../src/rollups/rollup-folder.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

const DAY_MS = 86_400_000;
const today = new Date().toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);

describe('metric roll-ups', () => {
  let t: TestApp;
  let worker: Worker | undefined;
  let folder: RollupFolder | undefined;
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const track = async (events: Array<Record<string, unknown>>) => {
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: events });
    expect(res.status).toBe(202);
  };
  const order = (email: string, total: number, currency?: string) =>
    fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        event: 'order_placed',
        orderId: `o-${randomUUID()}`,
        profile: { email },
        items: [{ name: 'Thing', sku: 's', amount: total, tax: 0, discount: 0 }],
        orderTotal: total,
        ...(currency ? { currency } : {}),
      }),
    });
  /** What the stored events say, per (day, name): count and distinct visitors. */
  const truth = async () => {
    const events = await t.db.collection('events').find({}).toArray();
    const out = new Map<string, { count: number; visitors: Set<string> }>();
    for (const e of events) {
      const key = `${e.timestamp.toISOString().slice(0, 10)}:${e.name}`;
      const b = out.get(key) ?? { count: 0, visitors: new Set<string>() };
      b.count++;
      b.visitors.add(e.anonymousId ?? e.profileId?.toString());
      out.set(key, b);
    }
    return new Map([...out].map(([k, b]) => [k, { count: b.count, visitors: b.visitors.size }]));
  };
  const rolledUp = async () => {
    const res = await admin('GET', `/api/metrics?from=${yesterday}&to=${today}`);
    expect(res.status).toBe(200);
    const out = new Map<string, { count: number; visitors: number }>();
    for (const s of res.body.events)
      for (const d of s.days) out.set(`${d.day}:${s.name}`, { count: d.count, visitors: d.visitors });
    return out;
  };

  beforeAll(async () => {
    // No worker yet: the test plays the crashed first attempts, then a real worker retries the jobs.
    t = await startTestApp({ worker: false });
  });
  afterAll(async () => {
    if (worker) await closeWorker(worker);
    await folder?.stop();
    await t?.close();
  });

  it('counts every stored event exactly once after jobs are retried from any crash point, and answers from the roll-ups', async () => {
    const anonA = `a-${randomUUID()}`;
    const anonB = `b-${randomUUID()}`;
    const sentAt = new Date().toISOString();
    const lastNight = new Date(Date.now() - DAY_MS).toISOString();
    const batch = (anon: string) => [
      clientEvent({ anonymousId: anon }),
      clientEvent({ anonymousId: anon }),
      clientEvent({ anonymousId: anon, timestamp: lastNight }),
      clientEvent({ name: 'add_to_cart', anonymousId: anon, properties: { productId: 'p', quantity: 1, price: 3 } }),
    ];
    const jobsBatches = [batch(anonA), batch(anonB), batch(anonA)];
    for (const events of jobsBatches) {
      const res = await postEvents(t.url, { writeKey: t.site.writeKey, sentAt, batch: events });
      expect(res.status).toBe(202);
      await new Promise((r) => setTimeout(r, 60)); // one ingest job per request
    }
    const jobs = (await waitFor(
      async () => {
        const waiting = (await t.app.queues.ingest.getWaiting()) as Array<Job<IngestJob>>;
        return waiting.length === 3 ? waiting : null;
      },
      5_000,
      'three ingest jobs',
    )) as Array<Job<IngestJob>>;
    const keyOf = (job: Job) => `${job.id}@${job.timestamp}`;
    // The real folder, idle (no timer, no kicks) while the test plays the crashes.
    folder = startRollupFolder(t.config, t.app.models, t.app.log, 3_600_000);
    const hook = createAfterInsertHook(t.app.queues, { ...folder, kick() {} });
    const fold = () => foldPending(t.app.models, folder!.contributions, folder!.sketches);

    // Job 1 crashed after its events were inserted, before any roll-up.
    await processEvents(t.app.models, jobEvents(jobs[0]!.data), { jobKey: keyOf(jobs[0]!) });
    // Job 2 crashed after its roll-ups were recorded and folded, before BullMQ marked it complete.
    const r2 = await processEvents(t.app.models, jobEvents(jobs[1]!.data), { jobKey: keyOf(jobs[1]!) });
    await hook(r2.inserted, t.app.models, { key: keyOf(jobs[1]!), stored: jobEvents(jobs[1]!.data) });
    await fold();
    // Job 3's contributions were being folded when the folder crashed: the buckets were increased (their
    // `jobs` name the contributions), the contributions not yet recorded as folded nor deleted.
    const r3 = await processEvents(t.app.models, jobEvents(jobs[2]!.data), { jobKey: keyOf(jobs[2]!) });
    await hook(r3.inserted, t.app.models, { key: keyOf(jobs[2]!), stored: jobEvents(jobs[2]!.data) });
    const { contributions } = folder;
    const job3 = [...(await contributions.read(await contributions.buckets(100))).values()].flat();
    expect(job3.length).toBeGreaterThan(0);
    await fold();
    for (const p of job3) {
      await t.app.redis.srem(`${t.config.queuePrefix}:rollup-folded:${p.bucket}`, p.jobKey);
      await contributions.add([p]);
      const id = `${p.bucket}|${p.jobKey}`;
      await t.db.collection('metrics_daily').updateOne({ _id: p.bucket } as never, { $push: { jobs: id } } as never);
    }

    // The retries: a real ingest worker runs all three jobs again, and a real folder folds.
    worker = createIngestWorker({
      config: t.config,
      models: t.app.models,
      log: t.app.log,
      hooks: [createAfterInsertHook(t.app.queues, folder)],
    });
    folder.kick();
    await waitFor(
      async () => (await t.app.queues.ingest.getJobCounts('waiting', 'active')).waiting === 0,
      10_000,
      'jobs done',
    );
    await waitFor(async () => (await t.app.queues.ingest.getJobCounts('active')).active === 0, 10_000, 'jobs done');

    // The SDK sends the first batch again (a retry after a lost answer): nothing more is counted.
    await track(jobsBatches[0]!);
    await new Promise((r) => setTimeout(r, 500));
    await waitFor(
      async () => (await t.app.queues.ingest.getJobCounts('waiting', 'active')).waiting === 0,
      10_000,
      'jobs done',
    );

    const expected = await truth();
    expect(expected.get(`${today}:page_view`)).toEqual({ count: 6, visitors: 2 }); // 3 batches × 2; the resent batch adds nothing
    await waitFor(
      async () => JSON.stringify([...(await rolledUp())].sort()) === JSON.stringify([...expected].sort()),
      5_000,
      'roll-ups equal to stored events',
    );
    expect(await rolledUp()).toEqual(expected);
    // at rest, no bucket holds a contribution in flight
    await waitFor(
      async () => (await t.db.collection('metrics_daily').find({}).toArray()).every((d) => d.jobs.length === 0),
      5_000,
      'folding done',
    );
  });

  it('sums orders and revenue, one currency apart from another; the funnel reads page_view → add_to_cart → order_placed from the roll-ups', async () => {
    const email = `buyer-${randomUUID().slice(0, 8)}@example.com`;
    expect((await order(email, 19.9)).status).toBe(202);
    expect((await order(email, 5.05)).status).toBe(202);
    expect((await order(email, 100, 'EUR')).status).toBe(202);
    expect((await order(email, 0.5, 'EUR')).status).toBe(202);
    expect((await order(email, 7, 'USD')).status).toBe(202);
    expect((await order(email, 3, 'eur')).status).toBe(400); // not an ISO 4217 code
    await waitFor(
      async () =>
        (await t.db.collection('metrics_daily').findOne({ _id: `${t.site.siteId}:${today}:order_placed` } as never))
          ?.count === 5,
      10_000,
      'orders rolled up',
    );

    const res = await admin('GET', `/api/metrics?from=${today}&to=${today}&event=order_placed`);
    expect(res.body.events).toEqual([
      {
        name: 'order_placed',
        totals: { count: 5, visitorDays: 1, orders: 5, revenue: 24.95, revenueByCurrency: { EUR: 100.5, USD: 7 } },
        days: [
          { day: today, count: 5, visitors: 1, orders: 5, revenue: 24.95, revenueByCurrency: { EUR: 100.5, USD: 7 } },
        ],
      },
    ]);

    // the funnel is answered from metrics_daily: removing the events changes nothing
    await t.db.collection('events').deleteMany({});
    const funnel = await admin('GET', `/api/metrics/funnel?from=${yesterday}&to=${today}`);
    expect(funnel.status).toBe(200);
    expect(funnel.body.steps).toEqual([
      {
        name: 'page_view',
        count: 9,
        visitorDays: 4,
        revenue: 0,
        revenueByCurrency: {},
        conversionFromPrevious: null,
        conversionFromFirst: null,
      },
      {
        name: 'add_to_cart',
        count: 3,
        visitorDays: 2,
        revenue: 0,
        revenueByCurrency: {},
        conversionFromPrevious: 0.5,
        conversionFromFirst: 0.5,
      },
      {
        name: 'order_placed',
        count: 5,
        visitorDays: 1,
        revenue: 24.95,
        revenueByCurrency: { EUR: 100.5, USD: 7 },
        conversionFromPrevious: 0.5,
        conversionFromFirst: 0.25,
      },
    ]);
  });

  it('loses no count when many jobs update the same buckets at once (concurrent $inc can be lost on FerretDB)', async () => {
    const anon = `c-${randomUUID()}`;
    const batches = Array.from({ length: 20 }, (_, i) =>
      Array.from({ length: 50 }, () =>
        clientEvent({
          name: 'button_click',
          anonymousId: `${anon}-${i % 5}`,
          properties: { elementId: 'b', text: 'Go' },
        }),
      ),
    );
    await Promise.all(batches.map((b) => track(b)));
    await waitFor(
      async () =>
        (await t.db.collection('metrics_daily').findOne({ _id: `${t.site.siteId}:${today}:button_click` } as never))
          ?.count >= 1_000,
      20_000,
      'all clicks rolled up',
    );
    await new Promise((r) => setTimeout(r, 500));
    const res = await admin('GET', `/api/metrics?from=${today}&to=${today}&event=button_click`);
    expect(res.body.events[0].days).toEqual([
      { day: today, count: 1_000, visitors: 5, orders: 0, revenue: 0, revenueByCurrency: {} },
    ]);
  });

  it('rejects bad day ranges', async () => {
    expect((await admin('GET', '/api/metrics?from=2026-02-30')).status).toBe(400);
    expect((await admin('GET', `/api/metrics?from=${today}&to=${yesterday}`)).status).toBe(400);
    expect((await admin('GET', '/api/metrics?from=2020-01-01&to=2026-01-01')).status).toBe(400);
    expect((await adminCall(t.url, 'sk_nope', 'GET', '/api/metrics')).status).toBe(401);
  });
});
