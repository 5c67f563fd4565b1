import { connect } from 'node:net';
import { verifyWebhookSignature } from '@trackmate/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreatedSite, createSite } from '../src/sites/index.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startReceiver } from './helpers/webhook-receiver.js';

// Regression tests of the security review (issue 11), each named after what it broke.
describe('security regressions', () => {
  let t: TestApp;
  let other: CreatedSite;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_REQUEST_TIMEOUT_MS: '1500' } });
    other = await createSite(t.app.models, { name: 'Another shop', origins: ['https://other.test'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("site A cannot attach events to site B's profile by sending B's profileId (refused per event, nothing stored)", async () => {
    const email = `b-customer-${Date.now()}@example.com`;
    const created = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'signup', profile: { email, firstName: 'Bea' } }),
    });
    expect(created.status).toBe(202);
    const profile = await waitFor(() => t.db.collection('profiles').findOne({ email }), 10_000, "site B's profile");

    const stolen = clientEvent({ profileId: profile._id.toHexString() });
    const fine = clientEvent();
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [stolen, fine] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      accepted: 1,
      rejected: [{ index: 0, errors: [`/profileId: no profile ${profile._id.toHexString()} in this site`] }],
    });
    await waitFor(() => t.db.collection('events').findOne({ messageId: fine.messageId }), 10_000, 'the good event');
    expect(await t.db.collection('events').findOne({ messageId: stolen.messageId })).toBeNull();
    expect(
      await t.db.collection('events').countDocuments({ profileId: profile._id, siteId: { $ne: profile.siteId } }),
    ).toBe(0);
  });

  it('a timestamp no clock shows (23:59:60Z) is a per-event 400 for client and server events, not a 500 for the batch', async () => {
    const leap = clientEvent({ timestamp: '2026-12-31T23:59:60Z' });
    const ok = clientEvent();
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [leap, ok] });
    expect(res.status).toBe(202);
    expect(res.body.rejected).toEqual([
      { index: 0, errors: ['/timestamp: "2026-12-31T23:59:60Z" is not a real time'] },
    ]);
    const server = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'signup', email: 'leap@example.com', timestamp: '2026-12-31T23:59:60Z' }),
    });
    expect(server.status).toBe(400);
    expect(((await server.json()) as { message: string }).message).toMatch(/not a real time/);
  });

  it('a repeated ?writeKey= is a 400 that says so, not a 500', async () => {
    const key = t.site.writeKey;
    const res = await postEvents(t.url, clientEvent(), { query: `?writeKey=${key}&writeKey=${key}` });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/more than once/);
  });

  it('a 400 KB write key is refused as unknown before any cache entry, Redis key or query is made for it', async () => {
    const before = t.app.siteKeys.size;
    // (in a header, Node itself answers 431 past 16 KB; the body may hold one)
    const res = await postEvents(t.url, { ...clientEvent(), writeKey: `pk_${'a'.repeat(400_000)}` });
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('Unknown write key');
    expect(t.app.siteKeys.size).toBe(before);
    expect(await t.app.redis.keys(`${t.config.queuePrefix}:rl:*aaaaaaaa*`)).toEqual([]);
  });

  it('PATCH of a trigger or webhook with a dotted key ({"action.url": …}) is a 400 and changes nothing', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      adminCall(t.url, t.site.secretKey, method, path, body);
    const trigger = await admin('POST', '/api/triggers', {
      name: 'Cart',
      entryEvent: 'add_to_cart',
      delaySeconds: 60,
      action: { type: 'webhook', url: 'https://hooks.shop.test/cart' },
    });
    expect(trigger.status).toBe(201);
    const patched = await admin('PATCH', `/api/triggers/${trigger.body.id}`, {
      'action.url': 'http://169.254.169.254/',
    });
    expect(patched.status).toBe(400);
    expect((await admin('GET', `/api/triggers/${trigger.body.id}`)).body.action.url).toBe(
      'https://hooks.shop.test/cart',
    );

    const webhook = await admin('POST', '/api/webhooks', { url: 'https://hooks.shop.test/all', events: ['*'] });
    expect(webhook.status).toBe(201);
    const bad = await admin('PATCH', `/api/webhooks/${webhook.body.id}`, { 'url.x': 'http://127.0.0.1/' });
    expect(bad.status).toBe(400);
    expect((await admin('GET', `/api/webhooks/${webhook.body.id}`)).body.url).toBe('https://hooks.shop.test/all');
  });

  it('a trigger webhook created without a secret is signed all the same: a secret is generated and shown once', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      adminCall(t.url, t.site.secretKey, method, path, body);
    const created = await admin('POST', '/api/triggers', {
      name: 'Signed by default',
      entryEvent: 'add_to_cart',
      delaySeconds: 60,
      action: { type: 'webhook', url: 'https://hooks.shop.test/signed' },
    });
    expect(created.status).toBe(201);
    expect(created.body.action).toMatchObject({ signed: true, secret: expect.stringMatching(/^whsec_/) });
    const read = await admin('GET', `/api/triggers/${created.body.id}`);
    expect(read.body.action).toEqual({ type: 'webhook', url: 'https://hooks.shop.test/signed', signed: true });
  });

  it('a body sent one byte at a time no longer holds the socket: 408 once the request took too long', async () => {
    const { port } = new URL(t.url);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      `POST /api/track/event?writeKey=${t.site.writeKey} HTTP/1.1\r\nHost: x\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const started = Date.now();
    const drip = setInterval(() => socket.writable && socket.write(' '), 200);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
    clearInterval(drip);
    socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('a browser cannot inflate revenue: client order events count as events, not as orders or revenue', async () => {
    const forged = clientEvent({
      name: 'order_product',
      properties: { orderId: 'fake-1', items: [{ productId: 'x', amount: 1_000_000_000, tax: 0, discount: 0 }] },
    });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [forged] })).status).toBe(202);
    const day = new Date().toISOString().slice(0, 10);
    const bucket = await waitFor(
      async () => {
        const doc = await t.db
          .collection('metrics_daily')
          .findOne({ _id: `${t.site.siteId}:${day}:order_product` } as never);
        return doc && doc.count >= 1 ? doc : null;
      },
      15_000,
      'the order_product roll-up',
    );
    expect(bucket).toMatchObject({ orders: 0, revenue: 0 });
  });

  it("a browser cannot pre-send an order's derived messageId (srv:…) to make the real order a duplicate", async () => {
    const { createHash } = await import('node:crypto');
    const derived = `srv:${createHash('sha256').update(`${t.site.siteId}:order_placed:A-1001`).digest('hex')}`;
    const squatter = clientEvent({ messageId: derived });
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [squatter, clientEvent()] });
    expect(res.body.rejected).toEqual([
      { index: 0, errors: ['/messageId: ids starting with "srv:" are reserved for server events'] },
    ]);
    const order = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        event: 'order_placed',
        orderId: 'A-1001',
        profile: { email: 'buyer-a1001@example.com' },
        items: [{ name: 'Cup', sku: 'cup-1', amount: 12, tax: 0, discount: 0 }],
        orderTotal: 12,
      }),
    });
    expect(order.status).toBe(202);
    const stored = await waitFor(() => t.db.collection('events').findOne({ messageId: derived }), 10_000, 'the order');
    expect(stored.name).toBe('order_placed');
    expect(stored.sentBy).toBe('server');
  });

  it('a browser event cannot re-subscribe a person who withdrew consent, even dated in the future', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      adminCall(t.url, t.site.secretKey, method, path, body);
    const email = `withdrew-${Date.now()}@example.com`;
    const identify = (consent: boolean, at = new Date()) =>
      clientEvent({ name: 'identify', timestamp: at.toISOString(), properties: { email, consent } });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [identify(true)] })).status).toBe(202);
    const profile = await waitFor(
      () => t.db.collection('profiles').findOne({ email, 'consent.email': true }),
      10_000,
      'consent',
    );
    const withdrawn = await admin('PATCH', `/api/profiles/${profile._id}`, { consent: { email: false } });
    expect(withdrawn.body.consent.email).toBe(false);
    // anyone with the public key sends consent: true, dated after the withdrawal
    await new Promise((r) => setTimeout(r, 20));
    const later = identify(true);
    expect(
      (await postEvents(t.url, { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: [later] })).status,
    ).toBe(202);
    await waitFor(() => t.db.collection('events').findOne({ messageId: later.messageId }), 10_000, 'the event');
    const after = await admin('GET', `/api/profiles/${profile._id}`);
    expect(after.body.consent.email).toBe(false);
    // the attempt is kept in the history, oldest first, after the withdrawal it did not override
    expect(after.body.consentHistory.map((c: { source: string }) => c.source)).toEqual(['identify', 'api', 'identify']);
  });

  it('a browser event cannot overwrite the names a backend set', async () => {
    const email = `named-${Date.now()}@example.com`;
    const server = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'signup', profile: { email, firstName: 'Ada', lastName: 'Lovelace' } }),
    });
    expect(server.status).toBe(202);
    await waitFor(() => t.db.collection('profiles').findOne({ email, firstName: 'Ada' }), 10_000, 'the named profile');
    const forged = clientEvent({
      name: 'identify',
      properties: { email, firstName: '<a href=//evil>Click</a>', phone: '+15550100' },
    });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [forged] })).status).toBe(202);
    await waitFor(() => t.db.collection('events').findOne({ messageId: forged.messageId }), 10_000, 'the event');
    await new Promise((r) => setTimeout(r, 300));
    const profile = await t.db.collection('profiles').findOne({ email });
    expect(profile).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace' });
    expect(profile!.phone).toBeUndefined();
  });

  it('an oversize body sent in chunks (no Content-Length) gets its 413, not a reset connection', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream({
      pull(c) {
        if (sent++ < 12) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(`${t.url}/api/track/event?writeKey=${t.site.writeKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('TM_ERR_PAYLOAD_TOO_LARGE');
  });

  it('a rotated webhook secret: for a day deliveries carry both signatures, so receivers switch over at their pace', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      adminCall(t.url, t.site.secretKey, method, path, body);
    const receiver = await startReceiver(() => 200);
    try {
      const oldSecret = 'whsec_old-secret-0123456789';
      const newSecret = 'whsec_new-secret-0123456789';
      const hook = await admin('POST', '/api/webhooks', {
        url: receiver.url,
        events: ['newsletter_open'],
        secret: oldSecret,
      });
      expect(hook.status).toBe(201);
      expect((await admin('PATCH', `/api/webhooks/${hook.body.id}`, { secret: newSecret })).status).toBe(200);
      const event = clientEvent({ name: 'newsletter_open', properties: { issue: 1 } });
      expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [event] })).status).toBe(202);
      await waitFor(() => receiver.requests.length > 0, 15_000, 'the delivery');
      const { body, headers } = receiver.requests[0]!;
      const header = String(headers['x-trackmate-signature']);
      expect(header.match(/v1=/g)).toHaveLength(2);
      expect(verifyWebhookSignature({ body, header, secret: newSecret })).toBe(true);
      expect(verifyWebhookSignature({ body, header, secret: oldSecret })).toBe(true);
      expect(verifyWebhookSignature({ body, header, secret: 'whsec_someone-else-000000' })).toBe(false);
    } finally {
      await receiver.close();
    }
  });

  it('the site API: read the site, change its origins, rotate its keys (the old ones refused at once here)', async () => {
    const site = await createSite(t.app.models, { name: 'Rotating shop', origins: ['https://r.example'] });
    const admin = (method: string, path: string, body?: unknown, key = site.secretKey) =>
      adminCall(t.url, key, method, path, body);
    const read = await admin('GET', '/api/site');
    expect(read.body).toMatchObject({
      siteId: site.siteId,
      name: 'Rotating shop',
      writeKey: site.writeKey,
      allowedOrigins: ['https://r.example'],
    });
    expect(JSON.stringify(read.body)).not.toContain('secretKeyHash');
    const patched = await admin('PATCH', '/api/site', {
      addOrigins: ['HTTPS://New.Example/'],
      removeOrigins: ['https://r.example'],
    });
    expect(patched.body.allowedOrigins).toEqual(['https://new.example']);
    expect((await admin('PATCH', '/api/site', { addOrigins: ['ftp://x'] })).status).toBe(400);

    expect((await postEvents(t.url, { writeKey: site.writeKey, batch: [clientEvent()] })).status).toBe(202);
    const rotated = await admin('POST', '/api/site/rotate-key', { write: true, secret: true });
    expect(rotated.body).toMatchObject({
      siteId: site.siteId,
      writeKey: expect.stringMatching(/^pk_/),
      secretKey: expect.stringMatching(/^sk_/),
    });
    expect((await postEvents(t.url, { writeKey: site.writeKey, batch: [clientEvent()] })).status).toBe(401);
    expect((await postEvents(t.url, { writeKey: rotated.body.writeKey, batch: [clientEvent()] })).status).toBe(202);
    expect((await admin('GET', '/api/site')).status).toBe(401);
    expect((await admin('GET', '/api/site', undefined, rotated.body.secretKey)).body.writeKey).toBe(
      rotated.body.writeKey,
    );
  });

  it('an ingest-only key sends server events and can read, change or erase nothing', async () => {
    const site = await createSite(t.app.models, { name: 'Backend shop', origins: [] });
    expect(site.ingestKey).toMatch(/^sk_/);
    const sent = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${site.ingestKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'signup', email: 'ingest-only@example.com' }),
    });
    expect(sent.status).toBe(202);
    for (const [method, path] of [
      ['GET', '/api/profiles'],
      ['GET', '/api/metrics'],
      ['GET', '/api/webhooks'],
      ['GET', '/api/site'],
      ['POST', '/api/site/rotate-key'],
    ] as const) {
      const res = await adminCall(
        t.url,
        site.ingestKey,
        method,
        path,
        method === 'POST' ? { secret: true } : undefined,
      );
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.code).toBe('TM_ERR_KEY_SCOPE');
    }
    expect((await adminCall(t.url, site.secretKey, 'GET', '/api/profiles')).status).toBe(200);
  });

  it('an erased person is not recreated by events still queued or retried afterwards (visitor id or e-mail)', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      adminCall(t.url, t.site.secretKey, method, path, body);
    const email = `erased-${Date.now()}@example.com`;
    const anon = `anon-erased-${Date.now()}`;
    const first = clientEvent({ name: 'identify', anonymousId: anon, properties: { email, firstName: 'Eve' } });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [first] })).status).toBe(202);
    const profile = await waitFor(() => t.db.collection('profiles').findOne({ email }), 10_000, 'the profile');
    expect((await admin('DELETE', `/api/profiles/${profile._id}`)).status).toBe(200);

    // a browser retries what it had queued, and the same person identifies again from another device
    const retried = clientEvent({ anonymousId: anon });
    const again = clientEvent({
      name: 'identify',
      anonymousId: `other-device-${Date.now()}`,
      properties: { email: email.toUpperCase() },
    });
    const someoneElse = clientEvent({ anonymousId: `someone-${Date.now()}` });
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [retried, again, someoneElse] });
    expect(res.status).toBe(202); // accepted (the ids cannot be judged at ingest), then dropped by the worker
    await waitFor(
      () => t.db.collection('events').findOne({ messageId: someoneElse.messageId }),
      10_000,
      'the other visitor',
    );
    expect(
      await t.db.collection('events').countDocuments({ messageId: { $in: [retried.messageId, again.messageId] } }),
    ).toBe(0);
    expect(await t.db.collection('profiles').countDocuments({ email })).toBe(0);
    // only hashes are kept
    expect(JSON.stringify(await t.db.collection('suppressions').find({}).toArray())).not.toContain(email);
  });
});
