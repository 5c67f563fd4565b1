import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, spawnCli, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { postHook, queueDrained, sample, signedDeliveries } from './helpers/platform-hooks.js';

const secrets = {
  shopify: randomBytes(32).toString('hex'),
  woocommerce: `wc-${randomBytes(12).toString('base64url')}`,
  stripe: `whsec_${randomBytes(24).toString('base64url')}`,
};
const sign = signedDeliveries(secrets);

let t: TestApp;
const events = () => t.db.collection('events');
const profiles = () => t.db.collection('profiles');
const hook = (platform: string, d: { body: string; headers: Record<string, string> }, siteId = t.site.siteId) =>
  postHook(t.url, platform, siteId, d.body, d.headers);
const counts = (platform: string) =>
  t.app.redis.hgetall(`${t.config.queuePrefix}:hooks:${t.site.siteId}:${platform}:counts`);
/** Everything acknowledged so far is stored: the ingest queue is drained. */
const settle = () => queueDrained(t.app.queues.ingest);

beforeAll(async () => {
  t = await startTestApp();
  const res = await adminCall(t.url, t.site.secretKey, 'PATCH', '/api/site', { integrationSecrets: secrets });
  expect(res.status).toBe(200);
  expect(res.body.integrations.shopify.secretSet).toBe(true);
  // the secrets are stored sealed and never answered
  const site = await t.db.collection('sites').findOne({});
  for (const s of Object.values(secrets)) {
    expect(JSON.stringify(res.body)).not.toContain(s);
    expect(JSON.stringify(site)).not.toContain(s);
  }
});
afterAll(async () => {
  await t?.close();
});

describe('Shopify order webhooks', () => {
  it("stores a signed orders/create once, on the buyer's profile and visit, with its revenue and currency; redeliveries store nothing", async () => {
    const order = sample('shopify-order');
    const visitor = order.note_attributes[1].value as string;
    // the visitor browsed before buying: the order joins that visit
    const view = clientEvent({ anonymousId: visitor });
    await postEvents(t.url, { ...view, writeKey: t.site.writeKey }, { headers: { origin: 'https://shop.test' } });

    const first = await hook('shopify', sign.shopify('orders/create', order));
    expect(first).toEqual({ status: 200, body: { outcome: 'accepted', events: 1 } });
    const stored = await waitFor(() => events().findOne({ name: 'order_placed', 'properties.platform': 'shopify' }));
    expect(stored.messageId).toMatch(/^srv:/);
    expect(stored.sentBy).toBe('server');
    expect(stored.anonymousId).toBe(visitor);
    expect(stored.timestamp).toEqual(new Date('2026-12-06T15:14:05Z'));
    expect(stored.properties).toMatchObject({
      orderId: '5871234500001',
      orderNumber: '#1042',
      orderTotal: 82.35,
      currency: 'EUR',
      shippingTotal: 5,
      shippingAddress: {
        street: 'Torstraße 12',
        line2: 'Hinterhaus',
        city: 'Berlin',
        postcode: '10119',
        country: 'DE',
      },
      billingAddress: { street: 'Torstraße 12', city: 'Berlin', postcode: '10119', country: 'DE', firstName: 'Mira' },
    });
    expect(stored.properties.items).toEqual([
      {
        name: 'Linen shirt - M / sand',
        sku: 'LIN-SHIRT-M-SAND',
        amount: 50,
        tax: 8.55,
        discount: 5,
        quantity: 2,
        productId: '8100001',
        variantId: '4410001',
      },
      {
        name: 'Canvas tote',
        sku: 'TOTE-NAT',
        amount: 20,
        tax: 3.8,
        discount: 0,
        quantity: 1,
        productId: '8100002',
        variantId: '4410002',
      },
    ]);
    const mira = await profiles().findOne({ email: 'mira.sen@example.com' });
    expect(mira).toMatchObject({ firstName: 'Mira', lastName: 'Sen', phone: '+4930901820' });
    expect(mira!.consent.email).toBe(true);
    expect(stored.profileId.toString()).toBe(mira!._id.toString());
    // the page view of the visit is now the buyer's
    await waitFor(
      async () =>
        (await events().findOne({ messageId: view.messageId }))?.profileId?.toString() === mira!._id.toString(),
    );

    // the same delivery again, and the paid notification of the same order: nothing more is stored
    expect((await hook('shopify', sign.shopify('orders/create', order))).body).toEqual({
      outcome: 'duplicate',
      events: 0,
    });
    expect((await hook('shopify', sign.shopify('orders/paid', order))).body).toEqual({
      outcome: 'duplicate',
      events: 0,
    });
    await settle();
    expect(await events().countDocuments({ name: 'order_placed', 'properties.platform': 'shopify' })).toBe(1);
    expect(await profiles().countDocuments({ email: 'mira.sen@example.com' })).toBe(1);
  });

  it('stores an order delivered twice at once (before either is stored) once', async () => {
    const order = {
      ...sample('shopify-order'),
      id: 5871234500777,
      admin_graphql_api_id: 'gid://shopify/Order/5871234500777',
    };
    const d = sign.shopify('orders/paid', order);
    const answers = await Promise.all([hook('shopify', d), hook('shopify', d), hook('shopify', d)]);
    for (const a of answers) expect(a.status).toBe(200);
    await settle();
    expect(await events().countDocuments({ 'properties.orderId': '5871234500777' })).toBe(1);
  });

  it('refunds/create becomes order_refunded with the refunded money, once', async () => {
    const refund = sample('shopify-refund');
    expect((await hook('shopify', sign.shopify('refunds/create', refund))).body).toEqual({
      outcome: 'accepted',
      events: 1,
    });
    const stored = await waitFor(() => events().findOne({ name: 'order_refunded', 'properties.platform': 'shopify' }));
    expect(stored.properties).toEqual({
      orderId: '5871234500001',
      refundId: '992200001',
      platform: 'shopify',
      amount: 23.8,
      currency: 'EUR',
      reason: 'Tote arrived torn',
    });
    await hook('shopify', sign.shopify('refunds/create', refund));
    await settle();
    expect(await events().countDocuments({ name: 'order_refunded', 'properties.platform': 'shopify' })).toBe(1);
  });

  it('refuses a tampered body, a wrong secret or a missing signature with 401 and stores nothing', async () => {
    const order = { ...sample('shopify-order'), id: 99, admin_graphql_api_id: 'gid://shopify/Order/99' };
    const signed = sign.shopify('orders/create', order);
    const tampered = { ...signed, body: signed.body.replace('"82.35"', '"0.01"') };
    const before = await counts('shopify');
    for (const d of [
      tampered,
      sign.shopify('orders/create', order, 'not-the-secret-of-this-site'),
      { body: signed.body, headers: { 'x-shopify-topic': 'orders/create' } },
    ]) {
      const res = await hook('shopify', d);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('TM_ERR_BAD_SIGNATURE');
    }
    await settle();
    expect(await events().countDocuments({ 'properties.orderId': '99' })).toBe(0);
    expect(Number((await counts('shopify')).refused) - Number(before.refused ?? 0)).toBe(3);
  });

  it('acknowledges other topics with 200, counts them and stores nothing', async () => {
    const before = Number((await counts('shopify')).ignored ?? 0);
    const res = await hook('shopify', sign.shopify('products/update', { id: 1, title: 'Linen shirt' }));
    expect(res).toMatchObject({ status: 200, body: { outcome: 'ignored', events: 0 } });
    expect(Number((await counts('shopify')).ignored)).toBe(before + 1);
  });
});

describe('WooCommerce order webhooks', () => {
  it('answers the ping WooCommerce sends when the webhook is saved with 200', async () => {
    const res = await postHook(
      t.url,
      'woocommerce',
      t.site.siteId,
      'webhook_id=17',
      {},
      'application/x-www-form-urlencoded',
    );
    expect(res).toMatchObject({ status: 200, body: { outcome: 'ping', events: 0 } });
  });

  it('stores a paid order once with the phone in E.164, and each refund of a later order.updated once', async () => {
    const order = sample('woocommerce-order');
    expect((await hook('woocommerce', sign.woocommerce('order.created', order))).body).toEqual({
      outcome: 'accepted',
      events: 1,
    });
    const stored = await waitFor(() =>
      events().findOne({ name: 'order_placed', 'properties.platform': 'woocommerce' }),
    );
    expect(stored.anonymousId).toBe('0b6f1d3e-8a2c-4e57-b1d9-5c7e2f4a8b21');
    expect(stored.timestamp).toEqual(new Date('2026-12-06T14:02:40Z'));
    expect(stored.properties).toMatchObject({
      orderId: '4821',
      orderTotal: 45.38,
      currency: 'USD',
      shippingTotal: 6.5,
    });
    expect(stored.properties.items).toEqual([
      { name: 'Pour-over kettle', sku: 'KETTLE-PO', amount: 32, tax: 2.24, discount: 4, quantity: 1, productId: '120' },
      {
        name: 'Paper filters (100)',
        sku: 'FILTER-100',
        amount: 8,
        tax: 0.64,
        discount: 0,
        quantity: 2,
        productId: '131',
      },
    ]);
    expect(stored.properties.billingAddress).toEqual({
      street: '1450 Larkin St',
      line2: 'Apt 3',
      city: 'San Francisco',
      postcode: '94109',
      country: 'US',
      region: 'CA',
      firstName: 'Jonah',
      lastName: 'Okafor',
    });
    const jonah = await profiles().findOne({ email: 'jonah.okafor@example.org' });
    expect(jonah).toMatchObject({ firstName: 'Jonah', lastName: 'Okafor', phone: '+14155550132' });

    // a partial refund: order.updated carries the whole order with its refunds
    const refunded = {
      ...order,
      date_modified_gmt: '2026-12-06T18:00:00',
      refunds: [{ id: 4830, reason: 'Dented', total: '-12.50' }],
    };
    const res = await hook('woocommerce', sign.woocommerce('order.updated', refunded));
    expect(res.body).toEqual({ outcome: 'accepted', events: 1 });
    const refund = await waitFor(() =>
      events().findOne({ name: 'order_refunded', 'properties.platform': 'woocommerce' }),
    );
    expect(refund.properties).toEqual({
      orderId: '4821',
      refundId: '4830',
      platform: 'woocommerce',
      amount: 12.5,
      currency: 'USD',
      reason: 'Dented',
    });
    expect(refund.profileId.toString()).toBe(jonah!._id.toString());
    expect((await hook('woocommerce', sign.woocommerce('order.updated', refunded))).body.outcome).toBe('duplicate');
    await settle();
    expect(await events().countDocuments({ 'properties.platform': 'woocommerce' })).toBe(2);
  });

  it('stores nothing for an unpaid order and refuses a bad signature with 401', async () => {
    const pending = {
      ...sample('woocommerce-order'),
      id: 4900,
      status: 'pending',
      date_paid: null,
      date_paid_gmt: null,
    };
    expect((await hook('woocommerce', sign.woocommerce('order.created', pending))).body).toMatchObject({
      outcome: 'ignored',
    });
    const paid = { ...pending, status: 'processing' };
    const res = await hook('woocommerce', sign.woocommerce('order.created', paid, 'wrong-secret-123'));
    expect(res.status).toBe(401);
    await settle();
    expect(await events().countDocuments({ 'properties.orderId': '4900' })).toBe(0);
  });
});

describe('Stripe webhooks', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const session = () => {
    const e = sample('stripe-checkout-session-completed');
    e.created = now();
    return e;
  };

  it('stores a paid checkout session once with the right amount in a zero-decimal currency', async () => {
    const e = session();
    expect((await hook('stripe', sign.stripe(e))).body).toEqual({ outcome: 'accepted', events: 1 });
    const stored = await waitFor(() => events().findOne({ name: 'order_placed', 'properties.platform': 'stripe' }));
    expect(stored.anonymousId).toBe('3e9a7c1b-54d2-4f0e-8c6a-2b1d9e7f4a30');
    expect(stored.properties).toMatchObject({
      orderId: 'pi_3QxTmPayment0001',
      orderTotal: 13200,
      currency: 'JPY',
      items: [{ name: 'Stripe Checkout', sku: '', amount: 12000, tax: 1200, discount: 0, quantity: 1 }],
      shippingAddress: {
        street: '1-2-3 Shibuya',
        city: 'Tokyo',
        postcode: '150-0002',
        country: 'JP',
        firstName: 'Haru',
        lastName: 'Tanaka',
      },
    });
    const haru = await profiles().findOne({ email: 'haru.tanaka@example.jp' });
    expect(haru).toMatchObject({ firstName: 'Haru', lastName: 'Tanaka', phone: '+81312345678' });
    // Stripe retries with a new signature and timestamp: still one order
    expect((await hook('stripe', sign.stripe(e))).body.outcome).toBe('duplicate');
  });

  it('refuses a stale signature (a replay older than 5 minutes) and a wrong secret with 401', async () => {
    const e = {
      ...session(),
      id: 'evt_stale',
      data: { object: { ...session().data.object, payment_intent: 'pi_stale' } },
    };
    const stale = await hook('stripe', sign.stripe(e, secrets.stripe, now() - 600));
    expect(stale.status).toBe(401);
    expect(String(stale.body.message)).toMatch(/older than 5 minutes/);
    expect((await hook('stripe', sign.stripe(e, 'whsec_someone_else'))).status).toBe(401);
    await settle();
    expect(await events().countDocuments({ 'properties.orderId': 'pi_stale' })).toBe(0);
  });

  it('refund.created becomes order_refunded once; unknown event types are acknowledged and not stored', async () => {
    const r = sample('stripe-refund-created');
    r.created = now();
    r.data.object.created = now();
    expect((await hook('stripe', sign.stripe(r))).body).toEqual({ outcome: 'accepted', events: 1 });
    const refund = await waitFor(() => events().findOne({ name: 'order_refunded', 'properties.platform': 'stripe' }));
    expect(refund.properties).toMatchObject({
      orderId: 'pi_3QxTmPayment0001',
      refundId: 're_3QxTmRefund0001',
      amount: 3300,
      currency: 'JPY',
    });
    const other = await hook(
      'stripe',
      sign.stripe({ id: 'evt_x', type: 'customer.created', created: now(), data: { object: { id: 'cus_1' } } }),
    );
    expect(other).toMatchObject({ status: 200, body: { outcome: 'ignored', events: 0 } });
    expect(Number((await counts('stripe')).ignored)).toBe(1);
  });
});

describe('refunds in the roll-ups', () => {
  it("a refund lowers the day's revenue (the sum over event names, as the overview shows it)", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const at = new Date().toISOString();
    const order = {
      ...sample('shopify-order'),
      id: 5871234509999,
      admin_graphql_api_id: 'gid://shopify/Order/5871234509999',
      currency: 'GBP',
      created_at: at,
      processed_at: at,
    };
    const refund = {
      ...sample('shopify-refund'),
      id: 992209999,
      admin_graphql_api_id: 'gid://shopify/Refund/992209999',
      order_id: 5871234509999,
      created_at: at,
      processed_at: at,
    };
    refund.transactions[0].currency = 'GBP';
    const gbp = async () => {
      const res = await adminCall(t.url, t.site.secretKey, 'GET', `/api/metrics?from=${today}&to=${today}`);
      expect(res.status).toBe(200);
      const byName = Object.fromEntries(
        res.body.events.map((e: { name: string; totals: { revenueByCurrency: Record<string, number> } }) => [
          e.name,
          e.totals.revenueByCurrency.GBP ?? 0,
        ]),
      );
      const day = Object.values(byName as Record<string, number>).reduce((a, b) => a + b, 0);
      return { byName, day: Math.round(day * 100) / 100 };
    };
    expect((await hook('shopify', sign.shopify('orders/create', order))).body.outcome).toBe('accepted');
    await waitFor(async () => (await gbp()).day === 82.35, 20_000, 'the order in the roll-ups');
    expect((await hook('shopify', sign.shopify('refunds/create', refund))).body.outcome).toBe('accepted');
    await waitFor(async () => (await gbp()).day === 58.55, 20_000, 'the refund in the roll-ups');
    const after = await gbp();
    // the orders stay what they were; the refunds' bucket carries the money returned, negative
    expect(after.byName).toMatchObject({ order_placed: 82.35, order_refunded: -23.8 });
    // a redelivered refund changes nothing: an order delivered after it is all that is added
    await hook('shopify', sign.shopify('refunds/create', refund));
    const next = { ...order, id: 5871234509998, admin_graphql_api_id: 'gid://shopify/Order/5871234509998' };
    expect((await hook('shopify', sign.shopify('orders/create', next))).body.outcome).toBe('accepted');
    await waitFor(async () => (await gbp()).day !== 58.55, 20_000, 'the next order in the roll-ups');
    const last = await gbp();
    expect(last.byName).toMatchObject({ order_placed: 164.7, order_refunded: -23.8 });
    expect(last.day).toBe(140.9);
  });
});

describe('GET /api/integrations', () => {
  it("answers each platform's URL, whether its secret is set, counts per outcome and the last deliveries, no secret", async () => {
    const res = await adminCall(t.url, t.site.secretKey, 'GET', '/api/integrations?limit=5');
    expect(res.status).toBe(200);
    const byPlatform = Object.fromEntries(res.body.platforms.map((p: { platform: string }) => [p.platform, p]));
    expect(Object.keys(byPlatform)).toEqual(['shopify', 'woocommerce', 'stripe']);
    expect(byPlatform.shopify.url).toBe(`${t.config.publicUrl}/api/hooks/shopify/${t.site.siteId}`);
    expect(byPlatform.shopify.secretSet).toBe(true);
    expect(byPlatform.shopify.counts).toMatchObject({ refused: 3, ignored: 1 });
    expect(byPlatform.shopify.counts.accepted).toBeGreaterThanOrEqual(3);
    expect(byPlatform.shopify.deliveries).toHaveLength(5);
    expect(byPlatform.shopify.deliveries[0]).toMatchObject({ topic: expect.any(String), outcome: expect.any(String) });
    expect(byPlatform.woocommerce.counts.ping).toBe(1);
    expect(byPlatform.stripe.deliveries[0]).toMatchObject({
      topic: 'customer.created',
      outcome: 'ignored',
      status: 200,
    });
    for (const s of Object.values(secrets)) expect(JSON.stringify(res.body)).not.toContain(s);
    // no e-mail of a buyer in the log
    expect(JSON.stringify(res.body)).not.toContain('@example');
  });
});

describe('hook routes', () => {
  it('answer 401 when the site has no secret for the platform, 404 for an unknown site or platform', async () => {
    await adminCall(t.url, t.site.secretKey, 'PATCH', '/api/site', { integrationSecrets: { woocommerce: null } });
    const res = await hook('woocommerce', sign.woocommerce('order.created', sample('woocommerce-order')));
    expect(res.status).toBe(401);
    expect(String(res.body.message)).toMatch(/no woocommerce secret is set/i);
    expect((await hook('shopify', sign.shopify('orders/create', {}), '0123456789abcdef01234567')).status).toBe(404);
    expect((await hook('magento', sign.shopify('orders/create', {}))).status).toBe(404);
  });
});

describe('trackmate-collector sites update', () => {
  it('sets and removes a platform secret from the command line; deliveries verify with it from then on', async () => {
    const cli = async (...args: string[]) => {
      const child = spawnCli(['sites', 'update', '--id', t.site.siteId, ...args], t.env);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => {
        out += d;
      });
      child.stderr!.on('data', (d) => {
        err += d;
      });
      const [code] = await once(child, 'exit');
      return { code, out, err };
    };
    const stripe = `whsec_${randomBytes(24).toString('base64url')}`;
    const set = await cli('--stripe-secret', stripe);
    expect(set.code).toBe(0);
    expect(set.out).toMatch(/stripe set 20/);
    expect(set.out).not.toContain(stripe);
    const e = { ...sample('stripe-checkout-session-completed'), created: Math.floor(Date.now() / 1000) };
    e.data.object.payment_intent = 'pi_from_cli';
    expect((await hook('stripe', sign.stripe(e, stripe))).body.outcome).toBe('accepted');
    // the earlier secret no longer verifies
    expect((await hook('stripe', sign.stripe(e, secrets.stripe))).status).toBe(401);

    const bad = await cli('--shopify-secret', 'short');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/shopify secret must be 8 to 512 characters/);
    const removed = await cli('--remove-secret', 'stripe');
    expect(removed.code).toBe(0);
    expect(removed.out).toMatch(/stripe not set/);
    expect((await hook('stripe', sign.stripe(e, stripe))).status).toBe(401);
  });
});
