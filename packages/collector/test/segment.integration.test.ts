import { randomUUID } from 'node:crypto';
import { Analytics } from '@segment/analytics-node';
import { describe, expect, it } from 'vitest';
import { storedEvents, type TestApp, useTestApp, waitFor } from './helpers/harness.js';

/**
 * The Segment-compatible routes, fed with payloads in the shape Segment's own libraries send: analytics-node
 * (`POST /v1/batch`, Basic auth, application/json) and analytics.js (`POST /v1/t|p|i`, the write key in the
 * body, text/plain from the page's origin).
 */
let t: TestApp;
let key: string;
useTestApp({}, (started) => {
  t = started;
  key = started.site.writeKey;
});
const { events, stored: byMessageId, waitStored } = storedEvents(() => t);

const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

/** One message as analytics-node 2.x builds it (before its batch envelope). */
function nodeMessage(type: string, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    type,
    ...fields,
    context: { library: { name: '@segment/analytics-node', version: '2.1.3' } },
    integrations: {},
    messageId: `node-next-${Date.now()}-${randomUUID()}`,
    timestamp: new Date().toISOString(),
    _metadata: { nodeVersion: process.versions.node, jsRuntime: 'node' },
  };
}

/** One call as analytics.js (analytics-next) sends it to `apiHost/t|p|i`. */
function browserCall(type: string, fields: Record<string, unknown>, anonymousId: string): Record<string, unknown> {
  return {
    timestamp: new Date().toISOString(),
    integrations: {},
    type,
    ...fields,
    context: {
      page: {
        path: '/checkout',
        referrer: 'https://search.test/?q=shoes',
        search: '',
        title: 'Checkout',
        url: 'https://shop.test/checkout',
      },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0',
      locale: 'en-GB',
      library: { name: 'analytics.js', version: 'next-1.77.0' },
      timezone: 'Europe/London',
    },
    messageId: `ajs-next-${Date.now()}-${randomUUID()}`,
    anonymousId,
    writeKey: key,
    userId: null,
    sentAt: new Date().toISOString(),
    _metadata: { bundled: ['Segment.io'], unbundled: [], bundledIds: [] },
  };
}

describe('Segment-compatible ingest', () => {
  it('takes an analytics-node batch: track names kept as given, identify makes the profile from traits.email', async () => {
    const batch = [
      nodeMessage('identify', {
        userId: 'user-42',
        traits: { email: 'Ada@Example.com', firstName: 'Ada', plan: 'pro' },
      }),
      nodeMessage('track', {
        userId: 'user-42',
        event: 'Order Completed',
        properties: {
          order_id: 'o-1001',
          total: 42.5,
          currency: 'EUR',
          products: [{ product_id: 'p-1', quantity: 1 }],
        },
      }),
      nodeMessage('page', {
        anonymousId: 'anon-node',
        name: 'Pricing',
        properties: { url: 'https://shop.test/pricing' },
      }),
    ];
    const res = await post(
      '/v1/batch',
      { batch, sentAt: new Date().toISOString() },
      { authorization: basic(key), 'user-agent': 'analytics-node-next/latest' },
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 3, rejected: [] });

    const docs = await waitStored(batch.map((m) => m.messageId as string));
    const [identify, order, page] = batch.map((m) => docs.find((d) => d.messageId === m.messageId)!);
    expect(order!.name).toBe('Order Completed');
    expect(order!.properties).toEqual(batch[1]!.properties);
    expect(order!.context.userId).toBe('user-42');
    expect(order!.context.library.name).toBe('@segment/analytics-node');
    expect(page!.name).toBe('page_view');
    expect(page!.properties).toMatchObject({
      url: 'https://shop.test/pricing',
      referrer: '',
      title: '',
      name: 'Pricing',
    });
    expect(page!.anonymousId).toBe('anon-node');
    expect(identify!.name).toBe('identify');

    const profile = await waitFor(
      () => t.db.collection('profiles').findOne({ userId: 'user-42' }),
      15_000,
      'the identified profile',
    );
    expect(profile.firstName).toBe('Ada');
    // the write key is a browser's: the address is kept as the user's unverified claim, not bound to the userId,
    // and has a profile of its own (a backend's server event binds them)
    expect(profile.email).toBeUndefined();
    expect(profile.unverifiedEmail.email).toBe('ada@example.com');
    const byEmail = await t.db.collection('profiles').findOne({ email: 'ada@example.com' });
    expect(byEmail?.userId).toBeUndefined();
    // the order names only the userId: it is the same person's
    await waitFor(
      async () => (await events().findOne({ _id: order!._id }))?.profileId?.toString() === profile._id.toString(),
      15_000,
      'the order linked to the profile of its userId',
    );
    await waitFor(
      async () => (await events().findOne({ _id: identify!._id }))?.profileId?.toString() === profile._id.toString(),
      15_000,
      'the identify event linked to its profile',
    );
  });

  it('takes what the real analytics-node library sends, end to end', async () => {
    const analytics = new Analytics({ writeKey: key, host: t.url, path: '/v1/batch', flushInterval: 50 });
    const errors: unknown[] = [];
    analytics.on('error', (err) => errors.push(err));
    analytics.page({ anonymousId: 'lib-anon', name: 'Docs', properties: { url: 'https://shop.test/docs' } });
    analytics.identify({ userId: 'lib-user', traits: { email: 'lib@example.com', firstName: 'Lib' } });
    analytics.track({ userId: 'lib-user', event: 'Order Completed', properties: { order_id: 'o-9', total: 9.5 } });
    analytics.alias({ userId: 'lib-user', previousId: 'lib-anon' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);

    const profile = await waitFor(
      () => t.db.collection('profiles').findOne({ userId: 'lib-user' }),
      15_000,
      "analytics-node's profile",
    );
    expect(profile.unverifiedEmail.email).toBe('lib@example.com');
    const order = await waitFor(
      () => events().findOne({ name: 'Order Completed', 'context.userId': 'lib-user' }),
      15_000,
      "analytics-node's order",
    );
    expect(order.properties).toEqual({ order_id: 'o-9', total: 9.5 });
    expect(order.context.library.name).toMatch(/analytics-node/);
    // the alias joined the earlier page view's visitor to the user
    await waitFor(
      async () =>
        (await events().findOne({ anonymousId: 'lib-anon', name: 'page_view' }))?.profileId?.toString() ===
        profile._id.toString(),
      15_000,
      'the aliased page view back-filled',
    );
  });

  it('takes analytics.js calls (text/plain, key in the body, from an allowed origin) and links the visitor on identify', async () => {
    const anonymousId = randomUUID();
    const origin = { origin: 'https://shop.test', 'content-type': 'text/plain' };
    const page = browserCall(
      'page',
      {
        name: null,
        category: null,
        properties: {
          path: '/checkout',
          url: 'https://shop.test/checkout',
          title: 'Checkout',
          referrer: 'https://search.test/?q=shoes',
          search: '',
        },
      },
      anonymousId,
    );
    const track = browserCall('track', { event: 'Checkout Step Viewed', properties: { step: 2 } }, anonymousId);
    const identify = browserCall(
      'identify',
      { userId: 'user-7', traits: { email: 'grace@example.com', last_name: 'Hopper' } },
      anonymousId,
    );
    for (const [path, body] of [
      ['/v1/p', page],
      ['/v1/t', track],
      ['/v1/i', identify],
    ] as const) {
      const res = await post(path, JSON.stringify(body), origin);
      expect(res.status, path).toBe(202);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.test');
    }
    const ids = [page, track, identify].map((m) => m.messageId as string);
    await waitStored(ids);
    const profile = await waitFor(
      () => t.db.collection('profiles').findOne({ email: 'grace@example.com' }),
      15_000,
      'profile',
    );
    expect(profile.lastName).toBe('Hopper');
    // the visitor's earlier page and track events are back-filled with the profile
    const linked = await waitFor(
      async () => {
        const docs = await byMessageId(ids);
        return docs.every((d) => d.profileId?.toString() === profile._id.toString()) && docs;
      },
      15_000,
      'back-filled profileId',
    );
    const pageDoc = linked.find((d) => d.messageId === page.messageId)!;
    expect(pageDoc.name).toBe('page_view');
    expect(pageDoc.properties).toMatchObject({
      url: 'https://shop.test/checkout',
      title: 'Checkout',
      referrer: 'https://search.test/', // the search terms are not an allowed parameter (docs/security.md, URLs)
    });
    expect(pageDoc.userAgent).toMatch(/Chrome/);
    expect(linked.find((d) => d.messageId === track.messageId)!.name).toBe('Checkout Step Viewed');
  });

  it('alias joins an earlier visitor to the user: their events are back-filled', async () => {
    const earlier = nodeMessage('page', {
      anonymousId: 'anon-before-signup',
      properties: { url: 'https://shop.test/' },
    });
    expect((await post('/v1/batch', { batch: [earlier] }, { authorization: basic(key) })).status).toBe(202);
    await waitStored([earlier.messageId as string]);
    const alias = nodeMessage('alias', { previousId: 'anon-before-signup', userId: 'user-9' });
    const res = await post('/v1/alias', alias, { authorization: basic(key) });
    expect(res.status).toBe(202);
    const profile = await waitFor(() => t.db.collection('profiles').findOne({ userId: 'user-9' }), 15_000, 'profile');
    await waitFor(
      async () =>
        (await events().findOne({ messageId: earlier.messageId }))?.profileId?.toString() === profile._id.toString(),
      15_000,
      "the earlier visitor's page back-filled",
    );
    const bad = await post('/v1/alias', { previousId: 'x' }, { authorization: basic(key) });
    expect(bad.status).toBe(400);
  });

  it('stores a message once however often it is sent (messageId, or one derived from the content)', async () => {
    const withId = nodeMessage('track', { userId: 'u-dup', event: 'Product Viewed', properties: { sku: 'a' } });
    const withoutId: Record<string, unknown> = {
      userId: 'u-dup',
      event: 'Product Viewed',
      properties: { sku: 'b' },
      timestamp: '2026-11-30T10:00:00.000Z',
    };
    for (let i = 0; i < 3; i++) {
      expect((await post('/v1/batch', { batch: [withId] }, { authorization: basic(key) })).status).toBe(202);
      // a resend differs only in what the library stamps on each attempt
      const resend = { ...withoutId, sentAt: new Date(Date.now() + i).toISOString(), _metadata: { attempt: i } };
      expect((await post('/v1/track', resend, { authorization: basic(key) })).status).toBe(202);
    }
    await waitStored([withId.messageId as string]);
    await waitFor(async () => (await events().countDocuments({ 'context.userId': 'u-dup' })) >= 2, 15_000, 'both');
    await new Promise((r) => setTimeout(r, 500));
    expect(await events().countDocuments({ 'context.userId': 'u-dup' })).toBe(2);
  });

  it('refuses what Segment would refuse, message by message', async () => {
    const good = nodeMessage('track', { anonymousId: 'a-1', event: 'Signed Up' });
    const res = await post(
      '/v1/batch',
      {
        batch: [
          good,
          nodeMessage('group', { userId: 'u', groupId: 'g' }),
          nodeMessage('track', { userId: 'u' }),
          nodeMessage('track', { event: 'No One' }),
          nodeMessage('track', { userId: 'u', event: 'Bad Keys', properties: { $where: 1 } }),
        ],
      },
      { authorization: basic(key) },
    );
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2, 3, 4]);
    expect(res.body.rejected[0].errors[0]).toMatch(/group/);

    const none = await post('/v1/track', { userId: 'u' }, { authorization: basic(key) });
    expect(none.status).toBe(400);
    // the batch's context reaches every message, so it is checked like one
    const unsafe = await post('/v1/batch', { batch: [good], context: { $where: 'x' } }, { authorization: basic(key) });
    expect(unsafe.status).toBe(400);
  });

  it('authenticates by the write key: Basic auth user or body writeKey; origins checked for browsers', async () => {
    const msg = () => nodeMessage('track', { userId: 'u-auth', event: 'Auth Checked' });
    expect((await post('/v1/track', msg())).status).toBe(401);
    expect((await post('/v1/track', msg(), { authorization: basic('pk_nobody_knows_this_key_000000') })).status).toBe(
      401,
    );
    expect((await post('/v1/track', msg(), { authorization: basic(t.site.secretKey) })).status).toBe(401);
    expect((await post('/v1/track', { ...msg(), writeKey: key })).status).toBe(202);
    const foreign = await post('/v1/track', msg(), { authorization: basic(key), origin: 'https://evil.test' });
    expect(foreign.status).toBe(403);
    const big = await post('/v1/batch', { batch: Array.from({ length: 501 }, msg) }, { authorization: basic(key) });
    expect(big.status).toBe(413);
  });

  // Regression (issue 22): a 37.5 KB request of 500 messages and a 31 KB batch context stored 3 MB (each
  // message got its own copy); a few dozen such requests filled Redis and every site got 503
  it('refuses a batch whose shared context, copied into each message, would pass 512 KB: 413, nothing stored', async () => {
    const context = { library: { name: 'x', version: '1' }, padding: 'p'.repeat(31_000) };
    const userId = `u-amplify-${randomUUID()}`;
    const small = () => ({ type: 'track', userId, event: 'Amplified', messageId: randomUUID() });
    const body = { batch: Array.from({ length: 500 }, small), context };
    expect(JSON.stringify(body).length).toBeLessThan(128 * 1024); // far under the 512 KB a body may have
    const res = await post('/v1/batch', body, { authorization: basic(key) });
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/context \(\d+ bytes\) joins each of its 500 messages/);
    // the same context with a dozen messages fits (31 KB × 12 < 512 KB) and each stored event carries it
    const fits = await post(
      '/v1/batch',
      { batch: Array.from({ length: 12 }, small), context },
      { authorization: basic(key) },
    );
    expect(fits.status).toBe(202);
    expect(fits.body.accepted).toBe(12);
    await waitFor(async () => (await events().countDocuments({ 'context.userId': userId })) >= 12, 15_000, '12 stored');
    await new Promise((r) => setTimeout(r, 300));
    expect(await events().countDocuments({ 'context.userId': userId })).toBe(12);
    expect((await events().findOne({ 'context.userId': userId }))!.context.padding).toHaveLength(31_000);
  });

  it('is described in the OpenAPI document', async () => {
    const spec = (await (await fetch(`${t.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/v1/batch', '/v1/track', '/v1/identify', '/v1/page', '/v1/alias']),
    );
  });
});
