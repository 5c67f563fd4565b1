import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/harness.js';
import { PrivateFerret } from '../helpers/private-services.js';
import { SteadyLoad, settle, sleep } from './load.js';

const OUTAGE_MS = 20_000;

// The collector (API + worker in this process) on a FerretDB of this test's own, which we stop for 20 s.
describe.skipIf(!PrivateFerret.available())('fault: the MongoDB-wire server is stopped for 20 s', () => {
  let ferret: PrivateFerret;
  let t: TestApp;

  beforeAll(async () => {
    ferret = await PrivateFerret.create();
    t = await startTestApp({
      env: {
        MONGODB_URI: ferret.uri('tm_fault_mongo'),
        TRACKMATE_WORKER_LOCK_MS: '5000',
        TRACKMATE_JOB_BACKOFF_MS: '250',
      },
    });
  });
  afterAll(async () => {
    await ferret?.start().catch(() => {});
    await t?.close();
    await ferret?.destroy();
  });

  it('keeps acknowledging, retries the jobs and stores every event exactly once, nothing in dead_letters', async () => {
    const load = new SteadyLoad({
      url: t.url,
      writeKey: t.site.writeKey,
      prefix: 'mg',
      senders: 2,
      batchSize: 20,
      pauseMs: 250,
    });
    load.start();
    await load.waitForAnswers(202, 10);
    // Stop the database just before the write-key cache (30 s, sites/key-cache.ts) expires, so the site must be
    // served from the expired entry for most of the outage.
    await sleep(27_000);

    await ferret.stop('SIGKILL');
    const stoppedAt = Date.now();
    // Events are durable in Redis, so the API goes on acknowledging while the database is away.
    await load.waitForAnswers(202, 10, 10_000);
    await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
    await ferret.start();
    await load.waitForAnswers(202, 10);
    await load.stop();

    expect(load.count('network')).toBe(0);
    expect([...load.statuses.keys()]).toEqual(['202']);
    const result = await settle(t.db, load.acked, 'mg', 90_000);
    expect(result).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(await t.db.collection('events').countDocuments()).toBe(load.acked.size);
    expect(await t.db.collection('dead_letters').countDocuments()).toBe(0);
    expect((await t.app.queues.ingest.getJobCounts('failed')).failed).toBe(0);
  }, 240_000);
});
