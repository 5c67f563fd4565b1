import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreatedSite, createSite } from '../src/sites/create-site.js';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { secretApi, specOrder } from './helpers/secret-api.js';

let t: TestApp;
let other: CreatedSite;

beforeAll(async () => {
  t = await startTestApp();
  other = await createSite(t.app.models, { name: 'Other shop', origins: [] });
});
afterAll(async () => {
  await t?.close();
});

const post = (body: unknown, init: Parameters<typeof secretApi>[5] = {}, key: string | null = t.site.secretKey) =>
  secretApi(t.url, key, 'POST', '/api/track/server-event', body, init);
const events = () => t.db.collection('events');
const profiles = () => t.db.collection('profiles');
/** Waits until an event named `marker` with this value of properties.m is stored: the worker has seen its request. */
const marker = (m: string) => ({ event: 'test_marker', messageId: `marker-${m}`, properties: { m } });
const waitMarker = (m: string) =>
  waitFor(() => events().findOne({ messageId: `srv:marker-${m}` }), 15_000, `marker ${m}`);

describe('POST /api/track/server-event', () => {
  it('stores the documented order as one order_placed event linked to one profile with its fields', async () => {
    const res = await post(specOrder());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, rejected: [] });

    const order = await waitFor(() => events().findOne({ name: 'order_placed', 'properties.orderId': '1234' }));
    const jane = await profiles().findOne({ email: 'jane@example.com' });
    expect(jane).toMatchObject({ firstName: 'Jane', lastName: 'Doe', phone: '+911234567890' });
    expect(jane!.siteId.toString()).toBe(t.site.siteId);
    expect(order.profileId.toString()).toBe(jane!._id.toString());
    expect(order.siteId.toString()).toBe(t.site.siteId);
    expect(order.sentBy).toBe('server');
    expect(order.timestamp).toEqual(new Date('2025-08-27T18:30:00Z'));
    const spec = specOrder();
    expect(order.properties).toEqual({
      orderId: '1234',
      shippingAddress: spec.shippingAddress,
      billingAddress: spec.billingAddress,
      items: spec.items,
      orderTotal: 548,
    });
    expect(order.flags).toBeUndefined();
  });

  it('stores an order sent twice (a retried webhook) once, with one profile', async () => {
    const order = { ...specOrder(), orderId: 'dup-1', profile: { email: 'Dup@Example.com', firstName: 'Dee' } };
    expect((await post(order)).status).toBe(202);
    expect((await post({ batch: [order, marker('dup')] })).status).toBe(202);
    await waitMarker('dup');
    expect(await events().countDocuments({ name: 'order_placed', 'properties.orderId': 'dup-1' })).toBe(1);
    expect(await profiles().countDocuments({ email: 'dup@example.com' })).toBe(1);
  });

  it('keeps the same orderId of two different sites apart', async () => {
    const order = { ...specOrder(), orderId: 'shared-7' };
    expect((await post(order)).status).toBe(202);
    expect((await post(order, {}, other.secretKey)).status).toBe(202);
    const both = await waitFor(async () => {
      const docs = await events().find({ 'properties.orderId': 'shared-7' }).toArray();
      return docs.length === 2 && docs;
    });
    expect(new Set(both.map((d) => d.siteId.toString()))).toEqual(new Set([t.site.siteId, other.siteId]));
  });

  it('stores an order whose total disagrees with its items as sent, flagged order_total_mismatch', async () => {
    const order = {
      ...specOrder(),
      orderId: 'mismatch-1',
      items: [
        { name: 'Mug', sku: 'MUG-1', amount: 10, tax: 1.8, discount: 0 },
        { name: 'Tea', sku: 'TEA-7', amount: 6.5, tax: 1.17, discount: 0.5 },
      ],
      orderTotal: 25,
    };
    // 10 + 1.8 + 6.5 + 1.17 − 0.5 = 18.97 exactly in cents, though not in floating point: not a mismatch
    const exact = { ...order, orderId: 'exact-1', orderTotal: 18.97 };
    expect((await post({ batch: [order, exact] })).body).toEqual({ accepted: 2, rejected: [] });
    const flagged = await waitFor(() => events().findOne({ 'properties.orderId': 'mismatch-1' }));
    expect(flagged.flags).toEqual(['order_total_mismatch']);
    expect(flagged.properties.orderTotal).toBe(25);
    const fine = await waitFor(() => events().findOne({ 'properties.orderId': 'exact-1' }));
    expect(fine.flags).toBeUndefined();
  });

  it('answers 202 for a batch with bad events, naming each by index, and stores the good ones', async () => {
    const good = {
      event: 'subscription_renewed',
      messageId: 'batch-good-1',
      email: 'ren@example.com',
      properties: { plan: 'pro' },
    };
    const noItems = { ...specOrder(), orderId: 'bad-1', items: [] };
    const badName = { event: 'Not A Name', messageId: 'batch-bad-2' };
    const unsafe = { event: 'custom_thing', messageId: 'batch-bad-3', properties: { nested: { $where: 'x' } } };
    const badPhone = { ...specOrder(), orderId: 'bad-4', profile: { email: 'p@example.com', phone: '12345' } };
    const res = await post({ batch: [good, noItems, badName, unsafe, badPhone] });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2, 3, 4]);
    expect(res.body.rejected[1].errors.join(' ')).toMatch(/\/event/);
    expect(res.body.rejected[2].errors).toEqual(["/properties/nested/$where: keys may not start with '$'"]);
    expect(res.body.rejected[3].errors.join(' ')).toMatch(/\/profile\/phone/);

    const stored = await waitFor(() => events().findOne({ messageId: 'srv:batch-good-1' }));
    const ren = await profiles().findOne({ email: 'ren@example.com' });
    expect(stored.profileId.toString()).toBe(ren!._id.toString());
    await post(marker('batch'));
    await waitMarker('batch');
    expect(await events().countDocuments({ 'properties.orderId': { $in: ['bad-1', 'bad-4'] } })).toBe(0);
    expect(await events().countDocuments({ messageId: { $in: ['srv:batch-bad-2', 'srv:batch-bad-3'] } })).toBe(0);
  });

  it('answers 400 with the reasons when no event is valid', async () => {
    const res = await post({ batch: [{ event: 'order_placed', orderId: 'x' }] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('TM_ERR_INVALID_PAYLOAD');
    expect(res.body.rejected[0].index).toBe(0);
    expect((await post('not an event')).status).toBe(400);
    expect((await post(undefined, { raw: '{"event":' })).body.code).toBe('TM_ERR_INVALID_JSON');
  });

  it('answers 401 without a secret key, with an unknown one, and with a write key, and stores nothing', async () => {
    const order = { ...specOrder(), orderId: 'unauth-1' };
    const none = await post(order, {}, null);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('TM_ERR_MISSING_SECRET');
    const unknown = await post(order, {}, 'sk_0000000000000000000000000000');
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('TM_ERR_UNKNOWN_KEY');
    expect((await post(order, {}, t.site.writeKey)).status).toBe(401);
    // even a body that is not JSON gets 401, not 400: nothing is read before the key is checked
    expect((await post(undefined, { raw: '{' }, null)).status).toBe(401);
    await post(marker('unauth'));
    await waitMarker('unauth');
    expect(await events().countDocuments({ 'properties.orderId': 'unauth-1' })).toBe(0);
  });

  it('answers 415 for other content types and 413 for more than 500 events', async () => {
    expect((await post(undefined, { raw: '<order/>', contentType: 'application/xml' })).status).toBe(415);
    const many = Array.from({ length: 501 }, (_, i) => ({ event: 'bulk_event', messageId: `bulk-${i}` }));
    const res = await post({ batch: many });
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/500/);
  });

  it('takes a gzip-encoded batch', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => ({
      event: 'gzip_probe',
      messageId: `gz-${i}`,
      email: 'gz@example.com',
      properties: { i, pad: 'x'.repeat(300) },
    }));
    const res = await post({ batch }, { gzip: true });
    expect(res.body).toEqual({ accepted: 50, rejected: [] });
    await waitFor(async () => (await events().countDocuments({ name: 'gzip_probe' })) === 50);
  });

  it('gives an event without messageId one from its content: an identical resend is stored once', async () => {
    const e = { event: 'invoice_paid', email: 'inv@example.com', properties: { invoice: 'A-1', amount: 30 } };
    const reordered = { properties: { amount: 30, invoice: 'A-1' }, email: 'inv@example.com', event: 'invoice_paid' };
    const second = { ...e, properties: { invoice: 'A-2', amount: 30 } };
    expect((await post({ batch: [e, second] })).body.accepted).toBe(2);
    expect((await post({ batch: [reordered, marker('nomsg')] })).body.accepted).toBe(2);
    await waitMarker('nomsg');
    // the two requests went in separate ingest jobs, which the worker may finish in either order
    await waitFor(() => events().findOne({ name: 'invoice_paid', 'properties.invoice': 'A-2' }), 15_000, 'A-2');
    const docs = await events().find({ name: 'invoice_paid' }).toArray();
    expect(docs.map((d) => d.properties.invoice).sort()).toEqual(['A-1', 'A-2']);
  });

  it("links an event by profileId only to a profile of the key's site", async () => {
    const mine = await waitFor(() =>
      profiles().findOne({ email: 'jane@example.com', siteId: new ObjectId(t.site.siteId) }),
    );
    await secretApi(t.url, other.secretKey, 'POST', '/api/track/server-event', {
      event: 'identify',
      messageId: 'other-identify',
      profile: { email: 'stranger@example.com' },
    });
    const foreign = await waitFor(() => profiles().findOne({ email: 'stranger@example.com' }));
    const res = await post({
      batch: [
        { event: 'support_ticket', messageId: 'pid-mine', profileId: mine._id.toString() },
        { event: 'support_ticket', messageId: 'pid-foreign', profileId: foreign._id.toString() },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected).toEqual([{ index: 1, errors: [`/profileId: no profile ${foreign._id} in this site`] }]);
    const linked = await waitFor(() => events().findOne({ messageId: 'srv:pid-mine' }));
    expect(linked.profileId.toString()).toBe(mine._id.toString());
    expect(await events().countDocuments({ messageId: 'srv:pid-foreign' })).toBe(0);
  });

  it('records consent carried by a server profile with source server', async () => {
    await post({
      event: 'identify',
      messageId: 'consent-server-1',
      timestamp: '2026-01-01T00:00:00Z',
      profile: { email: 'cons@example.com', phone: '+44 20 7946 0958', consent: { email: true } },
    });
    // the worker upserts the profile and records its consent before it stores the event
    await waitFor(() => events().findOne({ messageId: 'srv:consent-server-1' }));
    const p = await profiles().findOne({ email: 'cons@example.com' });
    expect(p!.phone).toBe('+442079460958');
    expect(p!.consent.email).toBe(true);
    expect(p!.consentHistory).toEqual([{ email: true, at: new Date('2026-01-01T00:00:00Z'), source: 'server' }]);
  });

  it('shows the endpoint in the OpenAPI document', async () => {
    const res = await fetch(`${t.url}/docs/json`);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; security?: unknown }>>;
    };
    const op = doc.paths['/api/track/server-event']?.post;
    expect(op?.requestBody).toBeDefined();
    expect(op?.security).toEqual([{ secretKey: [] }]);
  });
});
