import type { ChildProcess } from 'node:child_process';
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

// Four `trackmate-collector worker` processes share one queue: every event is stored once, profiles are
// upserted once per person, and the roll-ups count every event once.
let t: TestApp;
const workers: ChildProcess[] = [];
beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => stopChild(w)));
  await t?.close();
});

describe('scale-out', () => {
  it('4 worker processes store every event exactly once, with one profile per person and exact roll-ups', async () => {
    const total = 4_000;
    const ids: string[] = [];
    for (let b = 0; b < total / 100; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => {
        const n = b * 100 + i;
        // every 25th event identifies its visitor: the same 40 people over and over, from all four workers
        return n % 25 === 0
          ? clientEvent({
              messageId: `scale-${n}`,
              name: 'identify',
              anonymousId: `v-${n % 400}`,
              properties: { email: `person-${(n / 25) % 40}@example.com`, firstName: 'P' },
            })
          : clientEvent({ messageId: `scale-${n}`, anonymousId: `v-${n % 400}` });
      });
      ids.push(...batch.map((e) => e.messageId as string));
      const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch });
      expect(res.status).toBe(202);
      await new Promise((r) => setTimeout(r, 2)); // many jobs, for the workers to share
    }
    expect(await t.app.queues.ingest.count()).toBeGreaterThan(8);

    for (let i = 0; i < 4; i++) workers.push(spawnCli(['worker'], { ...t.env, TRACKMATE_WORKER_CONCURRENCY: '2' }));
    const events = t.db.collection('events');
    // the queue is polled, not the collection: a count is a full scan on FerretDB, and polling it every 100 ms
    // competes with the four workers for the database
    await waitFor(
      async () => {
        const c = await t.app.queues.ingest.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(c).every((n) => n === 0);
      },
      150_000,
      'the queue drained',
    );
    await waitFor(async () => (await events.countDocuments()) >= total, 15_000, 'all events stored');
    await new Promise((r) => setTimeout(r, 1_500)); // any duplicate would land now
    expect(await events.countDocuments()).toBe(total);
    expect(new Set(await events.distinct('messageId'))).toEqual(new Set(ids));
    // one profile per e-mail, however many workers upserted it at once
    const profiles = await t.db.collection('profiles').find({}).toArray();
    expect(profiles).toHaveLength(40);
    expect(new Set(profiles.map((p) => p.email)).size).toBe(40);
    // every stored event was counted once by the roll-ups of the job that inserted it
    const rolled = async () =>
      (await t.db.collection('metrics_daily').find({}).toArray()).reduce((n, d) => n + (d.count as number), 0);
    await waitFor(async () => (await rolled()) === total, 30_000, `roll-ups counting ${total} events`);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await rolled()).toBe(total);
  }, 240_000);
});
