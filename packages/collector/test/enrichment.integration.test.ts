import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS } from '../src/analytics/__tests__/agents.js';
import { closeVisits } from '../src/analytics/index.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

const MIN = 60_000;

describe('enrichment stored on each event', () => {
  let t: TestApp;
  const events = () => t.db.collection('events');
  /** Sends a batch as a browser behind the trusted proxy, from `ip` with user agent `ua`. */
  const send = async (batch: Array<Record<string, unknown>>, ip: string, ua: string) => {
    const res = await postEvents(
      t.url,
      { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch },
      { headers: { 'x-forwarded-for': ip, 'user-agent': ua } },
    );
    expect(res.status).toBe(202);
  };
  const stored = (messageIds: unknown[]) =>
    waitFor(
      async () => {
        const docs = await events()
          .find({ messageId: { $in: messageIds } })
          .toArray();
        return docs.length === messageIds.length ? docs : null;
      },
      15_000,
      'the events',
    ).then((docs) => new Map(docs.map((d) => [d.messageId as string, d])));

  const closeAll = () => closeVisits(t.app.models, t.app.redis, t.config.queuePrefix, { now: Date.now() + 3_600_000 });

  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_TRUST_PROXY: 'true', TRACKMATE_IP_MODE: 'anonymize' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores source, device and country, looked up before the address is anonymised', async () => {
    const visitor = `v-${randomUUID()}`;
    const landing = clientEvent({
      anonymousId: visitor,
      properties: {
        url: 'https://shop.test/mugs?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=G1',
        referrer: 'https://www.google.com/',
        title: 'Mugs',
      },
    });
    await send([landing], '81.2.69.142', AGENTS.safariIphone);
    const doc = (await stored([landing.messageId])).get(landing.messageId as string)!;
    expect(doc.ip).toBe('81.2.69.0');
    expect(doc.geo).toEqual({ country: 'GB', region: null });
    expect(doc.device).toEqual({ browser: 'Mobile Safari', browserVersion: '17', os: 'iOS', type: 'mobile' });
    expect(doc.bot).toBe(false);
    expect(doc.sentBy).toBe('client');
    expect(doc.source).toEqual({
      channel: 'Paid Search',
      referrerHost: 'google.com',
      utm: { source: 'google', medium: 'cpc', campaign: 'spring', term: null, content: null },
      clickId: 'gclid:G1',
    });
    // open, the visit is in Redis; closed (here: as if an hour had passed), it is in `visits`
    expect(await t.db.collection('visits').countDocuments({ _id: doc.visitId })).toBe(0);
    await closeAll();
    const visit = await t.db.collection('visits').findOne({ _id: doc.visitId });
    expect(visit).toMatchObject({ visitor, day: doc.timestamp.toISOString().slice(0, 10), closed: true });
    expect(visit!.dims).toMatchObject({
      channel: 'Paid Search',
      country: 'GB',
      browser: 'Mobile Safari',
      device: 'mobile',
    });
  });

  it("keeps the first event's source for the whole visit (a payment provider's return trip starts no new one) and splits after 30 idle minutes", async () => {
    const visitor = `v-${randomUUID()}`;
    const t0 = Date.now() - 3 * 60 * MIN;
    const at = (m: number) => new Date(t0 + m * MIN).toISOString();
    const page = (m: number, url: string, referrer = '') =>
      clientEvent({ anonymousId: visitor, timestamp: at(m), properties: { url, referrer, title: 'x' } });
    const first = page(0, 'https://shop.test/?utm_source=newsletter&utm_medium=email', 'https://mail.google.com/');
    const cart = page(5, 'https://shop.test/cart', 'https://shop.test/');
    const back = page(20, 'https://shop.test/thanks', 'https://checkout.stripe.com/');
    const later = page(51, 'https://shop.test/', 'https://duckduckgo.com/');
    await send([first, cart, back, later], '8.8.8.8', AGENTS.chromeWindows);
    const docs = await stored([first.messageId, cart.messageId, back.messageId, later.messageId]);
    const [a, b, c, d] = [first, cart, back, later].map((e) => docs.get(e.messageId as string)!);
    expect(new Set([a!.visitId, b!.visitId, c!.visitId]).size).toBe(1);
    expect(c!.source.channel).toBe('Email');
    expect(c!.source.utm.campaign).toBeNull();
    expect(d!.visitId).not.toBe(a!.visitId);
    expect(d!.source.channel).toBe('Organic Search');
    await closeAll();
    const visits = await t.db.collection('visits').find({ visitor }).sort({ start: 1 }).toArray();
    // times are skew-corrected by the batch's sentAt: compare them to the first one
    const rel = (d: Date) => (d.getTime() - visits[0]!.start.getTime()) / MIN;
    expect(visits.map((v) => [rel(v.start), rel(v.end)])).toEqual([
      [0, 20],
      [51, 51],
    ]);
  });

  it('a server order joins the open visit of the browser its buyer was last seen on, and takes its source and place', async () => {
    const visitor = `v-${randomUUID()}`;
    const email = `${visitor}@example.com`;
    const view = clientEvent({
      anonymousId: visitor,
      properties: { url: 'https://shop.test/', referrer: 'https://t.co/x', title: 'Home' },
    });
    const signUp = clientEvent({ anonymousId: visitor, name: 'identify', properties: { email } });
    await send([view, signUp], '133.242.0.1', AGENTS.firefoxMac);
    await stored([view.messageId, signUp.messageId]);
    const orderId = `o-${randomUUID()}`;
    const res = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        event: 'order_placed',
        orderId,
        profile: { email },
        items: [{ name: 'Mug', sku: 'm', amount: 20, tax: 0, discount: 0 }],
        orderTotal: 20,
      }),
    });
    expect(res.status, await res.text()).toBe(202);
    const order = await waitFor(() => events().findOne({ 'properties.orderId': orderId }), 15_000, 'the order');
    const viewDoc = await events().findOne({ messageId: view.messageId });
    expect(order.sentBy).toBe('server');
    expect(order.visitId).toBe(viewDoc!.visitId);
    expect(order.source.channel).toBe('Organic Social');
    expect(order.geo).toEqual({ country: 'JP', region: null });
    expect(order.device.browser).toBe('Firefox');
  });

  it('flags bots and keeps them out of visitors’ visits', async () => {
    const crawl = clientEvent({ anonymousId: `bot-${randomUUID()}` });
    await send([crawl], '8.8.8.8', AGENTS.googlebot);
    const doc = (await stored([crawl.messageId])).get(crawl.messageId as string)!;
    expect(doc.bot).toBe(true);
    await closeAll();
    const visit = await t.db.collection('visits').findOne({ _id: doc.visitId });
    expect(visit!.dims.bot).toBe(true);
  });
});

describe('TRACKMATE_GEO=off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_TRUST_PROXY: 'true', TRACKMATE_GEO: 'off' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores no place', async () => {
    const e = clientEvent({ anonymousId: `v-${randomUUID()}` });
    const res = await postEvents(
      t.url,
      { writeKey: t.site.writeKey, batch: [e] },
      { headers: { 'x-forwarded-for': '81.2.69.142' } },
    );
    expect(res.status).toBe(202);
    const doc = await waitFor(() => t.db.collection('events').findOne({ messageId: e.messageId }), 15_000, 'event');
    expect(doc.geo).toBeNull();
    expect(doc.source.channel).toBe('Direct');
  });
});
