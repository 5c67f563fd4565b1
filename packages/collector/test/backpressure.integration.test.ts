import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestWorker } from '../src/pipeline/index.js';
import { closeWorker } from '../src/plugins/queues.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

describe('backpressure', () => {
  let t: TestApp;
  let worker: Worker | undefined;
  beforeAll(async () => {
    // no worker in the API process: nothing drains until the test starts one
    t = await startTestApp({ worker: false, env: { TRACKMATE_MAX_BACKLOG: '60' } });
  });
  afterAll(async () => {
    if (worker) await closeWorker(worker);
    await t?.close();
  });

  const post = (n: number) =>
    postEvents(t.url, { writeKey: t.site.writeKey, batch: Array.from({ length: n }, () => clientEvent()) });

  it('answers 503 with Retry-After above the backlog limit, acknowledges nothing meanwhile, and recovers', async () => {
    let acknowledged = 0;
    for (let i = 0; i < 3; i++) {
      const res = await post(25);
      // under the limit (0, 25, then 50 waiting of 60) nothing is refused for the backlog
      expect(res.body.code).not.toBe('TM_ERR_BACKLOG');
      if (res.status === 202) acknowledged += 25;
      await new Promise((r) => setTimeout(r, 20)); // one job per request
    }
    expect(acknowledged).toBeGreaterThanOrEqual(75 - 25); // a loaded machine may time out one write (503)
    // 75 events wait (limit 60): within a poll (250 ms) new events are refused before their body is read
    const refused = await waitFor(
      async () => {
        const res = await post(5);
        if (res.status === 202) acknowledged += 5;
        return res.status === 503 ? res : null;
      },
      5_000,
      'a 503',
    );
    expect(refused.body.code).toBe('TM_ERR_BACKLOG');
    expect(refused.body.message).toMatch(/events waiting/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const server = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'signup', email: 'a@example.com' }),
    });
    expect(server.status).toBe(503);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/trackmate_ingest_refusing 1/);
    expect(metrics).toMatch(/trackmate_queue_depth\{queue="ingest",state="waiting"\} [1-9]/);
    expect(metrics).toMatch(/trackmate_queue_oldest_job_age_seconds\{queue="ingest"\} [0-9.]+/);

    // a worker drains the queue: accepting resumes, and every acknowledged event is stored once
    worker = createIngestWorker({ config: t.config, models: t.app.models, log: t.app.log });
    await waitFor(
      async () => {
        if ((await post(1)).status !== 202) return false;
        acknowledged += 1;
        return true;
      },
      15_000,
      'a 202 again',
    );
    await waitFor(
      async () => (await t.db.collection('events').countDocuments()) === acknowledged,
      15_000,
      `${acknowledged} stored events`,
    );
  });
});
