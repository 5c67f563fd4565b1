import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS } from '../src/analytics/__tests__/agents.js';
import { dayOf, dayStart } from './fixtures/traffic.js';
import { adminCall } from './helpers/admin.js';
import { postEvents, startTestApp, type TestApp } from './helpers/harness.js';
import { queueDrained } from './helpers/platform-hooks.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const id = () => randomUUID().slice(0, 8);
const day = (n: number) => dayStart(n);

/**
 * Buyers with visits from known sources, then server orders that name only their e-mail (joined through the
 * profile to every visitor id identify linked to it). The range is D-5..D-4 (days ago, UTC); the lookback 30 days.
 * - P1: Google (D-20), the spring newsletter (D-6), direct (D-5) → order 100 EUR: first Google, last newsletter;
 * - P2: Facebook (D-40, beyond the lookback) and a paid Facebook campaign (D-10) on a phone, direct on a laptop
 *   (D-5) → orders of 50 and 30 USD: first and last the paid campaign;
 * - P3: only direct → 20 EUR: Direct both ways; P4: an order at D-60 (returning), Bing at D-5 → 30 EUR;
 * - P5: an order and no visit at all → 10 EUR, unattributed.
 */
function buyers() {
  const ev = (visitor: string, at: number, name: string, properties: Record<string, unknown>) => ({
    messageId: `${name}-${id()}`,
    name,
    timestamp: new Date(at).toISOString(),
    anonymousId: visitor,
    sessionId: `s-${visitor}-${at}`,
    properties,
  });
  const pv = (visitor: string, at: number, path: string, referrer = '') =>
    ev(visitor, at, 'page_view', { url: `https://shop.test${path}`, referrer, title: path });
  const who = (email: string, visitor: string, at: number) => ev(visitor, at, 'identify', { email });
  const [p1, p2, p3, p4, p5] = ['p1', 'p2', 'p3', 'p4', 'p5'].map((p) => `${p}-${id()}@example.com`) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const v = Object.fromEntries(['p1', 'p2phone', 'p2laptop', 'p3', 'p4'].map((k) => [k, `at-${k}-${id()}`]));
  const at = (n: number, h = 10) => day(n) + h * HOUR;
  const browsers = [
    { ua: AGENTS.chromeWindows, events: [pv(v.p1!, at(20), '/', 'https://www.google.com/')] },
    {
      ua: AGENTS.chromeWindows,
      events: [pv(v.p1!, at(6), '/?utm_source=newsletter&utm_medium=email&utm_campaign=spring')],
    },
    { ua: AGENTS.chromeWindows, events: [pv(v.p1!, at(5), '/'), who(p1, v.p1!, at(5) + MIN)] },
    { ua: AGENTS.safariIphone, events: [pv(v.p2phone!, at(40), '/', 'https://www.facebook.com/')] },
    {
      ua: AGENTS.safariIphone,
      events: [
        pv(v.p2phone!, at(10), '/?utm_source=facebook&utm_medium=cpc&utm_campaign=summer'),
        who(p2, v.p2phone!, at(10) + MIN),
      ],
    },
    { ua: AGENTS.chromeWindows, events: [pv(v.p2laptop!, at(5), '/'), who(p2, v.p2laptop!, at(5) + MIN)] },
    { ua: AGENTS.firefoxMac, events: [pv(v.p3!, at(5), '/'), who(p3, v.p3!, at(5) + MIN)] },
    { ua: AGENTS.chromeAndroid, events: [pv(v.p4!, at(5), '/', 'https://www.bing.com/'), who(p4, v.p4!, at(5) + MIN)] },
  ];
  const order = (email: string, when: number, total: number, currency: string) => ({
    event: 'order_placed',
    orderId: `o-${id()}`,
    profile: { email },
    items: [{ name: 'Mug', sku: 'mug', amount: total, tax: 0, discount: 0 }],
    orderTotal: total,
    currency,
    timestamp: new Date(when).toISOString(),
  });
  const orders = [
    order(p4, at(60), 70, 'EUR'),
    order(p1, at(5) + 10 * MIN, 100, 'EUR'),
    order(p2, at(5) + 10 * MIN, 50, 'USD'),
    order(p2, at(4), 30, 'USD'),
    order(p3, at(5) + 10 * MIN, 20, 'EUR'),
    order(p4, at(5) + 10 * MIN, 30, 'EUR'),
    order(p5, at(5) + 10 * MIN, 10, 'EUR'),
  ];
  return { browsers, orders };
}

describe('revenue attribution through the real collector', () => {
  let t: TestApp;
  const range = `from=${dayOf(day(5))}&to=${dayOf(day(4))}`;
  const get = async (query: string) => {
    const res = await adminCall(t.url, t.site.secretKey, 'GET', `/api/stats/attribution?${range}&${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const row = (value: string, orders: number, buyers: number, currency: string, revenue: number) => ({
    value,
    orders,
    buyers,
    revenueByCurrency: { [currency]: revenue },
    aovByCurrency: { [currency]: revenue / orders },
  });

  beforeAll(async () => {
    t = await startTestApp();
    const { browsers, orders } = buyers();
    for (const b of browsers) {
      const res = await postEvents(
        t.url,
        { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: b.events },
        { headers: { 'user-agent': b.ua } },
      );
      expect(res.status).toBe(202);
      // each visit is stored before the next one is sent: a visitor's visits follow each other
      await queueDrained(t.app.queues.ingest);
    }
    for (const o of orders) {
      const res = await fetch(`${t.url}/api/track/server-event`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(o),
      });
      expect(res.status).toBe(202);
      await queueDrained(t.app.queues.ingest);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('credits each order to the first touch and the last non-direct touch, per currency, with totals', async () => {
    const body = await get('dimension=source');
    expect(body.lookbackDays).toBe(30);
    expect(body.totals).toEqual({
      orders: 6,
      buyers: 5,
      revenueByCurrency: { EUR: 160, USD: 80 },
      aovByCurrency: { EUR: 40, USD: 40 },
      newCustomers: 4,
      returningCustomers: 1, // P4 ordered at D-60
      unattributedOrders: 1, // P5
    });
    expect(body.firstTouch).toEqual([
      row('facebook', 2, 1, 'USD', 80),
      row('google.com', 1, 1, 'EUR', 100),
      row('bing.com', 1, 1, 'EUR', 30),
      row('(direct)', 1, 1, 'EUR', 20),
      row('(none)', 1, 1, 'EUR', 10),
    ]);
    expect(body.lastTouch).toEqual([
      row('facebook', 2, 1, 'USD', 80),
      row('newsletter', 1, 1, 'EUR', 100),
      row('bing.com', 1, 1, 'EUR', 30),
      row('(direct)', 1, 1, 'EUR', 20),
      row('(none)', 1, 1, 'EUR', 10),
    ]);
  });

  it('groups by channel and by campaign', async () => {
    const channels = await get('dimension=channel');
    expect(channels.firstTouch).toEqual([
      row('Organic Search', 2, 2, 'EUR', 130), // P1 (Google) and P4 (Bing)
      row('Paid Social', 2, 1, 'USD', 80),
      row('Direct', 1, 1, 'EUR', 20),
      row('(none)', 1, 1, 'EUR', 10),
    ]);
    expect(channels.lastTouch).toEqual([
      row('Paid Social', 2, 1, 'USD', 80),
      row('Email', 1, 1, 'EUR', 100),
      row('Organic Search', 1, 1, 'EUR', 30),
      row('Direct', 1, 1, 'EUR', 20),
      row('(none)', 1, 1, 'EUR', 10),
    ]);
    const campaigns = await get('dimension=campaign');
    expect(campaigns.lastTouch).toEqual([
      row('(none)', 3, 3, 'EUR', 60),
      row('summer', 2, 1, 'USD', 80),
      row('spring', 1, 1, 'EUR', 100),
    ]);
  });

  it("follows the site's lookback: at 3 days the newsletter (D-6) is P1's first touch and P2's campaign (D-10) is too old", async () => {
    const patch = await adminCall(t.url, t.site.secretKey, 'PATCH', '/api/site', { attributionLookbackDays: 3 });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    expect(patch.body.attributionLookbackDays).toBe(3);
    const body = await get('dimension=source');
    expect(body.lookbackDays).toBe(3);
    expect(body.firstTouch).toEqual([
      {
        value: '(direct)',
        orders: 3,
        buyers: 2,
        revenueByCurrency: { USD: 80, EUR: 20 },
        aovByCurrency: { USD: 40, EUR: 20 },
      },
      row('newsletter', 1, 1, 'EUR', 100),
      row('bing.com', 1, 1, 'EUR', 30),
      row('(none)', 1, 1, 'EUR', 10),
    ]);
    const bad = await adminCall(t.url, t.site.secretKey, 'PATCH', '/api/site', { attributionLookbackDays: 91 });
    expect(bad.status).toBe(400);
  });
});
