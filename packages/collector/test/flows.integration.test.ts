import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCANNER_WINDOW_MS } from '../src/campaigns/tracked-links.js';
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
  const order = (who: string, orderTotal: number) => ({
    event: 'order_placed',
    orderId: `o-${randomUUID()}`,
    profile: { email: mail(who) },
    items: [{ name: 'Thing', sku: 'p1', amount: orderTotal, tax: 0, discount: 0 }],
    orderTotal,
    currency: 'EUR',
  });
  /** The tracked link of a received message, on the test app's real port (its public URL names port 0). */
  const trackedLinkIn = (text: string) => {
    const found = [...text.matchAll(/https?:\/\/[^\s"'<>]+/g)]
      .map((m) => new URL(m[0]))
      .find((u) => u.pathname.startsWith('/r/'));
    return found && `${t.url}${found.pathname}`;
  };

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
          action: { type: 'email', subject: 'Second reminder', body: 'Still thinking? https://shop.example/cart' },
        },
      ],
    });
    expect(created.status).toBe(201);
    const flow = created.body;
    expect(flow.nextSteps).toEqual([
      {
        delaySeconds: SECOND_WAIT_S,
        action: { type: 'email', subject: 'Second reminder', body: 'Still thinking? https://shop.example/cart' },
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
    await track([order('buyer', 20)]);
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
    // the browser clicks the second e-mail's link (past the scanner window) and orders: credited to step 2
    const link = trackedLinkIn(mailsTo('browser', 'Second reminder')[0]!.decoded);
    expect(link).toBeDefined();
    const token = JSON.parse(Buffer.from(link!.split('/r/')[1]!.split('.')[0]!, 'base64url').toString());
    await waitFor(() => Date.now() > token.t + SCANNER_WINDOW_MS + 200, SCANNER_WINDOW_MS + 10_000, 'past the window');
    const clicked = await fetch(link!, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux)' } });
    expect(clicked.status).toBe(302);
    await track([order('browser', 35)]);
    const results = await waitFor(
      async () => {
        const body = (await admin('GET', `/api/triggers/${flow.id}/results`)).body;
        return body.orders === 1 && body;
      },
      60_000,
      'the order credited',
    );
    expect(results).toMatchObject({
      sent: 3,
      failed: 0,
      clicks: 1,
      clickers: 1,
      orders: 1,
      revenueByCurrency: { EUR: 35 },
    });
    expect(results.steps).toEqual([
      {
        step: 1,
        sent: 2,
        failed: 0,
        clicks: 0,
        clickers: 0,
        suspectClicks: 0,
        unsubscribed: 0,
        orders: 0,
        revenueByCurrency: {},
      },
      {
        step: 2,
        sent: 1,
        failed: 0,
        clicks: 1,
        clickers: 1,
        suspectClicks: 0,
        unsubscribed: 0,
        orders: 1,
        revenueByCurrency: { EUR: 35 },
      },
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
