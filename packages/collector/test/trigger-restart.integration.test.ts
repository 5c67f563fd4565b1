import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import {
  clientEvent,
  postEvents,
  spawnCli,
  startTestApp,
  stopChild,
  type TestApp,
  waitFor,
} from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

const DELAY_S = 5;

describe('trigger delays survive a worker restart (`trackmate-collector worker` child processes)', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  const children: ChildProcess[] = [];
  const startWorker = () => {
    const child = spawnCli(['worker'], { ...t.env, SMTP_URL: smtp.url });
    children.push(child);
    return child;
  };
  const track = async (events: Array<Record<string, unknown>>) => {
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: events });
    expect(res.status).toBe(202);
  };

  beforeAll(async () => {
    smtp = await startSmtpSink();
    // The API only; the workers are separate processes, as in a scaled-out installation.
    t = await startTestApp({ worker: false, env: { TRACKMATE_WORKER_LOCK_MS: '2000' } });
  });
  afterAll(async () => {
    for (const child of children) await stopChild(child, 'SIGKILL');
    await t?.close();
    await smtp?.close();
  });

  it('a worker killed during the delay and started again sends the e-mail once, when the delay ends', async () => {
    const created = await adminCall(t.url, t.site.secretKey, 'POST', '/api/triggers', {
      name: 'Abandoned cart',
      entryEvent: 'add_to_cart',
      delaySeconds: DELAY_S,
      exitEvents: ['order_placed'],
      action: {
        type: 'email',
        subject: 'Your cart',
        body: 'Hi {{profile.firstName}}, come back for {{event.properties.productId}}.',
      },
    });
    expect(created.status).toBe(201);

    const first = startWorker();
    const anon = `anon-${randomUUID()}`;
    const email = `frank-${randomUUID().slice(0, 8)}@example.com`;
    await track([
      clientEvent({ name: 'identify', anonymousId: anon, properties: { email, firstName: 'Frank', consent: true } }),
    ]);
    await waitFor(() => t.db.collection('profiles').findOne({ email }), 15_000, 'profile stored by the child worker');
    const addedAt = Date.now();
    await track([
      clientEvent({
        name: 'add_to_cart',
        anonymousId: anon,
        properties: { productId: 'sku-7', quantity: 1, price: 9 },
      }),
    ]);
    await waitFor(
      () => t.db.collection('trigger_entries').findOne({ anonymousId: anon, state: 'waiting' }),
      10_000,
      'entry',
    );

    // kill -9 in the middle of the delay: nothing graceful happens
    await stopChild(first, 'SIGKILL');
    expect(Date.now() - addedAt).toBeLessThan(DELAY_S * 1000);
    await new Promise((r) => setTimeout(r, 1_000));
    startWorker();

    const mail = await waitFor(
      () => smtp.mails.find((m) => m.to.includes(email)),
      25_000,
      'the e-mail after the restart',
    );
    expect(Date.now() - addedAt).toBeGreaterThanOrEqual(DELAY_S * 1000 - 300);
    expect(mail.decoded).toContain('Hi Frank, come back for sku-7.');
    await new Promise((r) => setTimeout(r, 3_000)); // a second send would have happened by now
    expect(smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
    expect((await t.db.collection('trigger_entries').findOne({ anonymousId: anon }))?.state).toBe('sent');
    expect(await t.db.collection('deliveries').countDocuments({ target: email, status: 'sent' })).toBe(1);
  });
});
