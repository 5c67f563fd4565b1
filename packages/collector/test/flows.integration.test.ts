import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

/** The second step's wait: room for an order sent after the first e-mail to be stored before it ends. */
const SECOND_WAIT_S = 15;

describe('multi-step flows (real SMTP server, Redis and MongoDB-wire server)', { timeout: 240_000 }, () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const run = randomUUID().slice(0, 8);
  const mail = (who: string) => `${who}-${run}@example.com`;
  const mailsTo = (who: string, subject: string) =>
    smtp.mails.filter((m) => m.to.includes(mail(who)) && m.decoded.includes(`Subject: ${subject}`));
  const track = async (batch: unknown[]) =>
    expect((await admin('POST', '/api/track/server-event', { batch })).status).toBe(202);

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestApp({ env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('refuses a step with an unknown template value with a 400 and saves nothing', async () => {
    const res = await admin('POST', '/api/triggers', {
      name: 'Bad flow',
      entryEvent: 'add_to_cart',
      delaySeconds: 1,
      action: { type: 'email', subject: 's', body: 'b' },
      nextSteps: [{ delaySeconds: 60, action: { type: 'email', subject: '{{order.total}}', body: 'b' } }],
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('order.total');
    const list = (await admin('GET', '/api/triggers')).body.triggers as Array<{ name: string }>;
    expect(list.some((x) => x.name === 'Bad flow')).toBe(false);
  });

  it('a multi-step flow stops when the exit event arrives between steps', async () => {
    const created = await admin('POST', '/api/triggers', {
      name: 'Cart reminders',
      entryEvent: 'add_to_cart',
      delaySeconds: 1,
      exitEvents: ['order_placed'],
      action: { type: 'email', subject: 'First reminder', body: 'Hi {{profile.email}}, your cart is waiting.' },
      nextSteps: [
        {
          delaySeconds: SECOND_WAIT_S,
          action: { type: 'email', subject: 'Second reminder', body: 'Still thinking, {{profile.email}}?' },
        },
      ],
    });
    expect(created.status).toBe(201);
    const flow = created.body;
    expect(flow.nextSteps).toEqual([
      {
        delaySeconds: SECOND_WAIT_S,
        action: { type: 'email', subject: 'Second reminder', body: 'Still thinking, {{profile.email}}?' },
      },
    ]);
    const identify = (who: string) => ({ event: 'identify', profile: { email: mail(who), consent: { email: true } } });
    await track([identify('buyer'), identify('browser')]);
    for (const who of ['buyer', 'browser']) {
      await waitFor(() => t.db.collection('profiles').findOne({ email: mail(who) }), 30_000, who);
    }
    const cart = (who: string) => ({ event: 'add_to_cart', email: mail(who), properties: { productId: 'p1' } });
    await track([cart('buyer'), cart('browser')]);
    // both get the first step's e-mail
    await waitFor(
      () => mailsTo('buyer', 'First reminder').length === 1 && mailsTo('browser', 'First reminder').length === 1,
      60_000,
      'the first e-mails',
    );
    // the buyer orders between the steps
    await track([
      {
        event: 'order_placed',
        orderId: `o-${randomUUID()}`,
        profile: { email: mail('buyer') },
        items: [{ name: 'Thing', sku: 'p1', amount: 20, tax: 0, discount: 0 }],
        orderTotal: 20,
      },
    ]);
    const entries = t.db.collection('trigger_entries');
    const settled = await waitFor(
      async () => {
        const all = await entries.find({ triggerId: new ObjectId(flow.id), state: { $ne: 'waiting' } }).toArray();
        return all.length === 2 && all;
      },
      120_000,
      'both entries settled',
    );
    const buyer = await t.db.collection('profiles').findOne({ email: mail('buyer') });
    const byProfile = new Map(settled.map((e) => [String(e.profileId), e]));
    const buyerEntry = byProfile.get(String(buyer!._id));
    const browserEntry = settled.find((e) => e !== buyerEntry);
    expect(buyerEntry).toMatchObject({ state: 'exited', step: 1, reason: 'exit event before step 2' });
    expect(browserEntry).toMatchObject({ state: 'sent', step: 1 });
    // the browser got both steps; the buyer only the first
    expect(mailsTo('browser', 'Second reminder')).toHaveLength(1);
    expect(mailsTo('buyer', 'Second reminder')).toHaveLength(0);
    expect(mailsTo('buyer', 'First reminder')).toHaveLength(1);
    const results = await admin('GET', `/api/triggers/${flow.id}/results`);
    expect(results.status).toBe(200);
    expect(results.body.sent).toBe(3);
    expect(results.body.steps).toEqual([
      { step: 1, sent: 2, failed: 0 },
      { step: 2, sent: 1, failed: 0 },
    ]);
  });

  it('keeps a single-step trigger as it was: no further steps, one e-mail', async () => {
    const created = await admin('POST', '/api/triggers', {
      name: 'One step',
      entryEvent: 'wishlist_add',
      delaySeconds: 1,
      action: { type: 'email', subject: 'Saved for you', body: 'Hi {{profile.email}}' },
    });
    expect(created.status).toBe(201);
    expect(created.body.nextSteps).toEqual([]);
    await track([{ event: 'wishlist_add', email: mail('buyer'), properties: { productId: 'p2' } }]);
    const entry = await waitFor(
      () =>
        t.db
          .collection('trigger_entries')
          .findOne({ triggerId: new ObjectId(created.body.id), state: { $ne: 'waiting' } }),
      60_000,
      'the entry settled',
    );
    expect(entry.state).toBe('sent');
    expect(entry.step).toBeUndefined();
    expect(mailsTo('buyer', 'Saved for you')).toHaveLength(1);
  });
});
