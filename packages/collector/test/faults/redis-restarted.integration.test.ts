import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, waitFor } from '../helpers/harness.js';
import { PrivateRedis } from '../helpers/private-services.js';
import { SteadyLoad, settle, sleep } from './load.js';

// The collector (API + worker in this process) on a Redis of this test's own, which we SIGKILL and restart.
describe('fault: Redis restarts while the collector takes traffic', () => {
  let redis: PrivateRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.create();
    t = await startTestApp({
      env: { REDIS_URL: redis.url, TRACKMATE_WORKER_LOCK_MS: '2000', TRACKMATE_JOB_BACKOFF_MS: '200' },
    });
  });
  afterAll(async () => {
    await redis?.start().catch(() => {}); // a clean close needs Redis back
    await t?.close();
    await redis?.destroy();
  });

  it('answers 503 while Redis is down and stores every acknowledged event exactly once', async () => {
    const load = new SteadyLoad({
      url: t.url,
      writeKey: t.site.writeKey,
      prefix: 'rd',
      senders: 4,
      batchSize: 10,
      pauseMs: 40,
    });
    load.start();
    await load.waitForAnswers(202, 40);

    await redis.stop('SIGKILL');
    await load.waitForAnswers(503, 20, 15_000); // the queue cannot take events: 503, never a false 202
    await sleep(2_000);
    await redis.start();
    await load.waitForAnswers(202, 40, 30_000); // the collector reconnects by itself
    await load.stop();

    // Only 202 (durable in Redis) or 503 (retry later); the process never fails a request otherwise.
    expect(load.count('network')).toBe(0);
    expect([...load.statuses.keys()].sort()).toEqual(['202', '503']);
    const acked = await settle(t.db, load.acked, 'rd', 60_000);
    expect(acked).toEqual({ missing: [], duplicated: [], unexpected: [] });

    // What the SDKs were told to retry arrives once they resend it.
    await load.resendUnacknowledged();
    const all = new Set([...load.acked]);
    expect(all.size).toBe(load.sent);
    expect(await settle(t.db, all, 'rd', 60_000)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(await t.db.collection('events').countDocuments()).toBe(load.sent);
    await waitFor(async () => (await t.app.queues.ingest.getJobCounts('failed')).failed === 0, 5_000, 'no failed job');
    expect(await t.db.collection('dead_letters').countDocuments()).toBe(0);
  }, 120_000);
});
