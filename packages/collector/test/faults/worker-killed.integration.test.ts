import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, startTestApp, stopChild, type TestApp, waitFor } from '../helpers/harness.js';
import { SteadyLoad, settle, sleep } from './load.js';

// The API in this process without a worker; the worker is a `trackmate-collector worker` child we SIGKILL.
describe('fault: the worker process is killed mid-batch', () => {
  let t: TestApp;
  let worker: ChildProcess | undefined;
  const workerEnv = () => ({ ...t.env, TRACKMATE_WORKER_LOCK_MS: '2000', TRACKMATE_JOB_BACKOFF_MS: '200' });

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
  });
  afterAll(async () => {
    if (worker) await stopChild(worker, 'SIGKILL');
    await t?.close();
  });

  it('stores every acknowledged event exactly once after the worker is SIGKILLed and restarted', async () => {
    const load = new SteadyLoad({
      url: t.url,
      writeKey: t.site.writeKey,
      prefix: 'wk',
      senders: 2,
      batchSize: 20,
      pauseMs: 100,
    });
    worker = spawnCli(['worker'], workerEnv());
    load.start();
    const events = t.db.collection('events');
    await waitFor(async () => (await events.countDocuments()) > 100, 20_000, 'the worker to store events');

    // Kill the worker while it holds a job (active in BullMQ, its events partly or not yet inserted).
    let activeAtKill = 0;
    await waitFor(
      async () => {
        activeAtKill = await t.app.queues.ingest.getActiveCount();
        if (activeAtKill > 0) worker!.kill('SIGKILL');
        return activeAtKill > 0;
      },
      10_000,
      'a job in progress',
    );
    await new Promise((r) => worker!.once('exit', r));
    expect(activeAtKill).toBeGreaterThan(0);

    // Traffic goes on without a worker: the API still acknowledges (events wait in Redis).
    await load.waitForAnswers(202, 20);
    await sleep(1_000);
    worker = spawnCli(['worker'], workerEnv());
    await load.waitForAnswers(202, 40);
    await sleep(1_000);
    await load.stop();

    expect(load.count('network')).toBe(0);
    expect([...load.statuses.keys()]).toEqual(['202']);
    const result = await settle(t.db, load.acked, 'wk', 60_000);
    expect(result).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(await events.countDocuments()).toBe(load.acked.size);
    expect(await t.db.collection('dead_letters').countDocuments()).toBe(0);
  }, 120_000);
});
