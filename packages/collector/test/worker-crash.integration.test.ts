import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientEvent,
  postEvents,
  spawnCli,
  startTestApp,
  stopChild,
  type TestApp,
  waitFor,
} from './helpers/harness.js';

// The API runs without a worker; workers are separate processes, so one can really be SIGKILLed mid-job.
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false, env: { TRACKMATE_WORKER_LOCK_MS: '2000', TRACKMATE_JOB_BACKOFF_MS: '200' } });
});
afterAll(async () => {
  await t?.close();
});

describe('ingest worker crash', () => {
  it('a worker killed with SIGKILL mid-job loses and duplicates nothing once a new worker runs', async () => {
    const total = 6_000;
    const ids: string[] = [];
    for (let b = 0; b < total / 500; b++) {
      const batch = Array.from({ length: 500 }, (_, i) =>
        clientEvent({ messageId: `crash-${b}-${i}`, anonymousId: `v-${i % 50}` }),
      );
      ids.push(...batch.map((e) => e.messageId as string));
      const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch });
      expect(res.status).toBe(202);
    }
    const events = t.db.collection('events');
    const env = { ...t.env, TRACKMATE_WORKER_CONCURRENCY: '2' };

    const first = spawnCli(['worker'], env);
    // kill it while it is storing: some events are in, not all
    const partial = await waitFor(
      async () => {
        const n = await events.countDocuments();
        return n > 0 && n < total ? n : 0;
      },
      // a worker process starts in seconds, or in tens of seconds on a loaded 2-core CI machine
      90_000,
      'the first worker to start storing',
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await events.countDocuments();
    expect(partial).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(total);

    const second = spawnCli(['worker'], env);
    try {
      await waitFor(async () => (await events.countDocuments()) >= total, 60_000, 'all events stored');
      await new Promise((r) => setTimeout(r, 1_500)); // any duplicate would land now
      expect(await events.countDocuments()).toBe(total);
      const distinct = await events.distinct('messageId');
      expect(distinct.length).toBe(total);
      expect(new Set(distinct)).toEqual(new Set(ids));
      expect(await t.db.collection('dead_letters').countDocuments()).toBe(0);
    } finally {
      await stopChild(second);
    }
  }, 240_000);

  it('the worker CLI shuts down gracefully on SIGTERM, finishing its jobs', async () => {
    const worker = spawnCli(['worker'], t.env);
    const batch = Array.from({ length: 300 }, () => clientEvent());
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch })).status).toBe(202);
    const client = new MongoClient(t.env.MONGODB_URI!);
    try {
      const coll = client.db().collection('events');
      const ids = batch.map((e) => e.messageId as string);
      await waitFor(
        async () => (await coll.countDocuments({ messageId: { $in: ids } })) > 0,
        90_000,
        'worker to start',
      );
      worker.kill('SIGTERM');
      const [code] = await new Promise<[number | null]>((r) => worker.once('exit', (c) => r([c])));
      expect(code).toBe(0);
      expect(await coll.countDocuments({ messageId: { $in: ids } })).toBe(300);
    } finally {
      await client.close();
      await stopChild(worker, 'SIGKILL');
    }
  }, 180_000);
});
