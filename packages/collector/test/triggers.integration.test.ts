import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

const DELAY_S = 2;

describe('campaign triggers with e-mail (real SMTP server, real BullMQ delays)', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let triggerId: string;
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const track = async (events: Array<Record<string, unknown>>) => {
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: events });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(events.length);
  };
  const identify = (anonymousId: string, email: string, consent?: boolean) =>
    clientEvent({
      name: 'identify',
      anonymousId,
      properties: { email, firstName: 'Ada <b>', ...(consent === undefined ? {} : { consent }) },
    });
  const addToCart = (anonymousId: string) =>
    clientEvent({ name: 'add_to_cart', anonymousId, properties: { productId: 'sku-42', quantity: 1, price: 19.9 } });
  const entryOf = (anonymousId: string) => t.db.collection('trigger_entries').findOne({ anonymousId });
  const mailsTo = (email: string) => smtp.mails.filter((m) => m.to.includes(email));

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestApp({ env: { SMTP_URL: smtp.url, TRACKMATE_JOB_BACKOFF_MS: '50' } });
    const created = await admin('POST', '/api/triggers', {
      name: 'Abandoned cart',
      entryEvent: 'add_to_cart',
      filters: [{ property: 'price', op: 'gt', value: 0 }],
      delaySeconds: DELAY_S,
      exitEvents: ['order_placed'],
      reentryHours: 24,
      action: {
        type: 'email',
        subject: 'You left {{event.properties.productId}} in your cart',
        body: 'Hi {{profile.firstName}}, your {{event.properties.productId}} is waiting.',
      },
    });
    expect(created.status).toBe(201);
    triggerId = created.body.id;
  });

  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('rejects a trigger with an unknown template value or a bad event name', async () => {
    const bad = await admin('POST', '/api/triggers', {
      name: 'x',
      entryEvent: 'add_to_cart',
      delaySeconds: 1,
      action: { type: 'email', subject: '{{secrets.key}}', body: 'b' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('secrets.key');
    const badName = await admin('POST', '/api/triggers', {
      name: 'x',
      entryEvent: 'Add To Cart',
      delaySeconds: 1,
      action: { type: 'email', subject: 's', body: 'b' },
    });
    expect(badName.status).toBe(400);
    expect((await admin('GET', `/api/triggers/${triggerId}`)).body.name).toBe('Abandoned cart');
  });

  it('abandoned cart: add_to_cart and no order within the delay sends one e-mail, after the delay, with an unsubscribe link', async () => {
    const anon = `anon-${randomUUID()}`;
    const email = `ada-${randomUUID().slice(0, 8)}@example.com`;
    await track([identify(anon, email, true)]);
    await waitFor(() => t.db.collection('profiles').findOne({ email }), 10_000, 'profile');
    const addedAt = Date.now();
    await track([addToCart(anon)]);

    const mail = await waitFor(() => mailsTo(email)[0], 15_000, 'the abandoned-cart e-mail');
    expect(Date.now() - addedAt).toBeGreaterThanOrEqual(DELAY_S * 1000 - 300);
    expect(mail.decoded).toContain('Subject: You left sku-42 in your cart');
    expect(mail.decoded).toContain('Hi Ada <b>, your sku-42 is waiting.'); // text part: as written
    expect(mail.decoded).toContain('Hi Ada &lt;b&gt;, your sku-42 is waiting.'); // HTML part: escaped
    expect(mail.decoded).toMatch(
      /List-Unsubscribe:\s+<http:\/\/127\.0\.0\.1:\d+\/api\/unsubscribe\?site=\w+&profile=\w+&sig=/,
    );
    const entry = await waitFor(
      async () => {
        const e = await entryOf(anon);
        return e?.state === 'sent' ? e : null;
      },
      5_000,
      'entry sent',
    );
    expect(entry.triggerId.toString()).toBe(triggerId);
    const deliveries = await t.db.collection('deliveries').find({ kind: 'email', target: email }).toArray();
    expect(deliveries.map((d) => d.status)).toEqual(['sent']);
    expect(deliveries[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(deliveries[0]!.responseCode).toBe(250);

    // a second cart within the re-entry window does not enter again
    await track([addToCart(anon)]);
    await new Promise((r) => setTimeout(r, (DELAY_S + 1.5) * 1000));
    expect(mailsTo(email)).toHaveLength(1);
  });

  // Regression (issue 22): the guard ran on the event's own time, which a client sets: carts dated 2020-01-01,
  // 01-03, 01-05… each passed it and each sent an e-mail
  it('back-dated entry events do not pass the re-entry guard again (it runs on receivedAt); their time is bounded', async () => {
    const anon = `anon-${randomUUID()}`;
    const email = `backdated-${randomUUID().slice(0, 8)}@example.com`;
    await track([identify(anon, email, true)]);
    await waitFor(() => t.db.collection('profiles').findOne({ email }), 10_000, 'profile');
    const dated = (day: string) => ({ ...addToCart(anon), timestamp: `${day}T12:00:00.000Z` });
    for (const day of ['2020-01-01', '2020-01-03', '2020-01-05', '2020-01-07']) {
      await track([dated(day)]);
      await waitFor(
        async () => (await t.db.collection('events').countDocuments({ anonymousId: anon })) > 0,
        10_000,
        'stored',
      );
    }
    // a batch where a guarded visitor comes first and a new one second: only the new one enters (the guards are read
    // back, not taken from the write error's index)
    const other = `anon-${randomUUID()}`;
    await track([dated('2020-01-09'), addToCart(other)]);
    await waitFor(
      () => t.db.collection('trigger_entries').findOne({ anonymousId: other }),
      10_000,
      "the new visitor's entry",
    );
    await waitFor(() => mailsTo(email)[0], 15_000, 'the one e-mail');
    await new Promise((r) => setTimeout(r, (DELAY_S + 1) * 1000));
    const entries = await t.db.collection('trigger_entries').find({ anonymousId: anon }).toArray();
    expect(entries).toHaveLength(1);
    expect(mailsTo(email)).toHaveLength(1);
    // a date years back enters as at most a day before it arrived
    const stored = await t.db.collection('events').findOne({ messageId: entries[0]!.event.messageId });
    expect(stored!.timestamp.toISOString()).toMatch(/^2020-01-/);
    expect(stored!.receivedAt.getTime() - entries[0]!.enteredAt.getTime()).toBeLessThanOrEqual(24 * 3_600_000);
  });

  it('abandoned cart: an order inside the window means no e-mail', async () => {
    const anon = `anon-${randomUUID()}`;
    const email = `bob-${randomUUID().slice(0, 8)}@example.com`;
    await track([identify(anon, email, true)]);
    await waitFor(() => t.db.collection('profiles').findOne({ email }), 10_000, 'profile');
    await track([addToCart(anon)]);
    await waitFor(() => entryOf(anon), 10_000, 'trigger entry');
    const order = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        event: 'order_placed',
        orderId: `o-${randomUUID()}`,
        profile: { email, firstName: 'Bob' },
        items: [{ name: 'Thing', sku: 'sku-42', amount: 19.9, tax: 0, discount: 0 }],
        orderTotal: 19.9,
      }),
    });
    expect(order.status).toBe(202);
    const entry = await waitFor(
      async () => {
        const e = await entryOf(anon);
        return e && e.state !== 'waiting' ? e : null;
      },
      15_000,
      'entry settled',
    );
    expect(entry.state).toBe('exited');
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(email)).toHaveLength(0);
  });

  it('sends nothing to a profile without e-mail consent, and records the skip', async () => {
    const anon = `anon-${randomUUID()}`;
    const email = `carol-${randomUUID().slice(0, 8)}@example.com`;
    await track([identify(anon, email)]); // no consent given
    await waitFor(() => t.db.collection('profiles').findOne({ email }), 10_000, 'profile');
    await track([addToCart(anon)]);
    const entry = await waitFor(
      async () => {
        const e = await entryOf(anon);
        return e && e.state !== 'waiting' ? e : null;
      },
      15_000,
      'entry settled',
    );
    expect(entry.state).toBe('skipped');
    expect(entry.reason).toBe('no e-mail consent');
    expect(mailsTo(email)).toHaveLength(0);
    const delivery = await t.db.collection('deliveries').findOne({ target: email });
    expect(delivery?.status).toBe('skipped');
  });

  it('reaches an anonymous visitor who is identified during the delay', async () => {
    const anon = `anon-${randomUUID()}`;
    const email = `dave-${randomUUID().slice(0, 8)}@example.com`;
    await track([addToCart(anon)]);
    const entry = await waitFor(() => entryOf(anon), 10_000, 'trigger entry');
    expect(entry.profileId ?? null).toBeNull();
    await track([identify(anon, email, true)]);
    const mail = await waitFor(() => mailsTo(email)[0], 15_000, 'e-mail to the visitor identified late');
    expect(mail.decoded).toContain('your sku-42 is waiting');
  });

  it('the unsubscribe link withdraws consent; later carts send nothing; a forged link is refused', async () => {
    const anon = `anon-${randomUUID()}`;
    const email = `erin-${randomUUID().slice(0, 8)}@example.com`;
    await t.db.collection('trigger_visitors').deleteMany({});
    await track([identify(anon, email, true)]);
    await waitFor(() => t.db.collection('profiles').findOne({ email }), 10_000, 'profile');
    await track([addToCart(anon)]);
    const mail = await waitFor(() => mailsTo(email)[0], 15_000, 'first e-mail');
    const signed = /Unsubscribe: (http\S+)/.exec(mail.decoded)?.[1];
    expect(signed?.startsWith(`${t.config.publicUrl}/api/unsubscribe?`)).toBe(true);
    // TRACKMATE_PUBLIC_URL is not known before the test app picks its port: same path and query, real port
    const link = `${t.url}${new URL(signed!).pathname}${new URL(signed!).search}`;

    // opening the link (as a link scanner would) changes nothing; the button on the page does
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post"');
    expect((await t.db.collection('profiles').findOne({ email }))?.consent.email).toBe(true);

    const forged = new URL(link!);
    forged.searchParams.set('sig', `${forged.searchParams.get('sig')!.slice(0, -2)}AA`);
    expect((await fetch(forged, { method: 'POST' })).status).toBe(403);
    expect((await t.db.collection('profiles').findOne({ email }))?.consent.email).toBe(true);

    const done = await fetch(link!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('You are unsubscribed');
    const profile = await t.db.collection('profiles').findOne({ email });
    expect(profile?.consent.email).toBe(false);
    expect(profile?.consentHistory.at(-1)).toMatchObject({ email: false, source: 'unsubscribe' });

    // a later cart (re-entry window cleared) is skipped for lack of consent
    await t.db.collection('trigger_visitors').deleteMany({});
    await track([addToCart(anon)]);
    await waitFor(
      async () => (await t.db.collection('deliveries').findOne({ target: email, status: 'skipped' })) !== null,
      15_000,
      'skip',
    );
    expect(mailsTo(email)).toHaveLength(1);
  });
});
