import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite } from '../src/sites/index.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startReceiver } from './helpers/webhook-receiver.js';

/** The read and operate endpoints the console is built on: events, top pages, dead letters, deliveries. */
describe('console endpoints (secret key, site-scoped)', () => {
  let t: TestApp;
  let other: { secretKey: string; siteId: string };
  const receivers: Array<Awaited<ReturnType<typeof startReceiver>>> = [];
  const admin = (method: string, path: string, body?: unknown, key = t.site.secretKey) =>
    adminCall(t.url, key, method, path, body);
  const track = async (events: Array<Record<string, unknown>>) => {
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: events });
    expect(res.status).toBe(202);
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_JOB_BACKOFF_MS: '100', TRACKMATE_JOB_ATTEMPTS: '2' } });
    other = await createSite(t.app.models, { name: 'Other shop', origins: ['https://other.test'] });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('GET /api/events lists stored events newest first, filters by name, pages with a cursor, and only the key’s site', async () => {
    const base = Date.now() - 60_000;
    const events = [0, 1, 2].map((i) =>
      clientEvent({
        timestamp: new Date(base + i * 1_000).toISOString(),
        properties: { url: `https://shop.test/p${i}`, referrer: '', title: `P${i}` },
      }),
    );
    const cart = clientEvent({
      name: 'add_to_cart',
      timestamp: new Date(base + 5_000).toISOString(),
      properties: { productId: 'sku-1', quantity: 1, price: 10 },
    });
    await track([...events, cart]);
    await waitFor(async () => (await admin('GET', '/api/events')).body.events?.length === 4, 15_000, 'four events');

    const all = await admin('GET', '/api/events');
    expect(all.status).toBe(200);
    expect(all.body.events.map((e: { name: string }) => e.name)).toEqual([
      'add_to_cart',
      'page_view',
      'page_view',
      'page_view',
    ]);
    const views = await admin('GET', '/api/events?name=page_view&limit=2');
    expect(views.body.events.map((e: { properties: { title: string } }) => e.properties.title)).toEqual(['P2', 'P1']);
    const next = await admin('GET', `/api/events?name=page_view&limit=2&cursor=${views.body.nextCursor}`);
    expect(next.body.events.map((e: { properties: { title: string } }) => e.properties.title)).toEqual(['P0']);
    expect(next.body.nextCursor).toBeNull();

    expect((await admin('GET', '/api/events', undefined, other.secretKey)).body.events).toEqual([]);
    expect((await adminCall(t.url, 'sk_nope', 'GET', '/api/events')).status).toBe(401);
    expect((await admin('GET', '/api/events?cursor=bad')).status).toBe(400);
  });

  it('GET /api/metrics/top-pages counts page views per URL over the day range', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const url = 'https://shop.test/popular';
    await track([0, 1, 2].map(() => clientEvent({ properties: { url, referrer: '', title: 'Popular' } })));
    const top = await waitFor(async () => {
      const r = await admin('GET', `/api/metrics/top-pages?from=${today}&to=${today}`);
      return r.body.pages?.[0]?.url === url ? r : null;
    });
    expect(top.body.pages[0]).toEqual({ url, views: 3 });
    expect((await admin('GET', '/api/metrics/top-pages', undefined, other.secretKey)).body.pages).toEqual([]);
    expect((await admin('GET', '/api/metrics/top-pages?from=2026-13-01')).status).toBe(400);
  });

  it('dead letters: listed for their own site only, replayed over HTTP and then stored once', async () => {
    const messageId = `dl-${randomUUID()}`;
    const now = new Date().toISOString();
    const payload = {
      events: [
        {
          siteId: t.site.siteId,
          messageId,
          name: 'page_view',
          timestamp: now,
          receivedAt: now,
          anonymousId: 'anon-dl',
          sessionId: null,
          profileId: null,
          properties: { url: 'https://shop.test/dl', referrer: '', title: 'DL' },
          source: 'client',
          userAgent: null,
          ip: null,
        },
      ],
    };
    const [mine] = await t.app.models.DeadLetter.insertMany([
      {
        queue: 'ingest',
        jobId: '1',
        siteId: new Types.ObjectId(t.site.siteId),
        reason: 'MongoDB was away',
        attempts: 5,
        payload,
        failedAt: new Date(),
      },
      {
        queue: 'ingest',
        jobId: '2',
        siteId: new Types.ObjectId(other.siteId),
        reason: 'not yours',
        attempts: 5,
        payload: {},
        failedAt: new Date(),
      },
    ]);
    const listed = await admin('GET', '/api/dead-letters');
    expect(listed.status).toBe(200);
    expect(listed.body.deadLetters).toHaveLength(1);
    expect(listed.body.deadLetters[0]).toMatchObject({ queue: 'ingest', reason: 'MongoDB was away', replayedAt: null });
    expect(listed.body.deadLetters[0].payload.events[0].messageId).toBe(messageId);

    const otherId = (await admin('GET', '/api/dead-letters', undefined, other.secretKey)).body.deadLetters[0].id;
    expect((await admin('POST', `/api/dead-letters/${otherId}/replay`)).status).toBe(404);

    const replay = await admin('POST', `/api/dead-letters/${mine!._id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ replayed: 1, events: 1, skipped: 0 });
    await waitFor(
      async () =>
        (await admin('GET', '/api/events?name=page_view&limit=200')).body.events.some(
          (e: { messageId: string }) => e.messageId === messageId,
        ),
      15_000,
      'the replayed event stored',
    );
    expect((await admin('GET', '/api/dead-letters')).body.deadLetters[0].replayedAt).not.toBeNull();
    expect(await t.db.collection('events').countDocuments({ messageId })).toBe(1);
  });

  it('webhooks: a test send reaches the receiver signed; a failed delivery is sent again with the same body id', async () => {
    const r = await startReceiver((n) => (n === 2 ? 400 : 200));
    receivers.push(r);
    const hook = await admin('POST', '/api/webhooks', { url: r.url, events: ['add_to_cart'] });
    const test = await admin('POST', `/api/webhooks/${hook.body.id}/test`);
    expect(test.status).toBe(202);
    await waitFor(() => r.requests.length >= 1, 15_000, 'the test POST');
    expect(JSON.parse(r.requests[0]!.body)).toMatchObject({ id: test.body.deliveryId, type: 'test' });
    expect(r.requests[0]!.headers['x-trackmate-signature']).toBeTruthy();

    await track([clientEvent({ name: 'add_to_cart', properties: { productId: 'p9', quantity: 1, price: 3 } })]);
    const failed = await waitFor(async () => {
      const d = (await admin('GET', `/api/webhooks/${hook.body.id}/deliveries`)).body.deliveries;
      return d.find((x: { status: string }) => x.status === 'failed');
    });
    const retry = await admin('POST', `/api/webhooks/${hook.body.id}/deliveries/${failed.id}/retry`);
    expect(retry.status).toBe(202);
    await waitFor(() => r.requests.length >= 3, 15_000, 'the retried POST');
    expect(JSON.parse(r.requests[2]!.body).id).toBe(JSON.parse(r.requests[1]!.body).id);
    expect(JSON.parse(r.requests[2]!.body).event.properties.productId).toBe('p9');

    const testDelivery = (await admin('GET', `/api/webhooks/${hook.body.id}/deliveries`)).body.deliveries.find(
      (x: { messageId: string | null }) => x.messageId === null,
    );
    expect((await admin('POST', `/api/webhooks/${hook.body.id}/deliveries/${testDelivery.id}/retry`)).status).toBe(409);
    expect((await admin('POST', `/api/webhooks/${hook.body.id}/test`, undefined, other.secretKey)).status).toBe(404);
  });

  it('GET /api/triggers/:id/deliveries lists what the trigger sent, newest first; another site’s trigger is 404', async () => {
    const r = await startReceiver(() => 200);
    receivers.push(r);
    const trigger = await admin('POST', '/api/triggers', {
      name: 'Cart webhook',
      entryEvent: 'add_to_cart',
      delaySeconds: 0,
      action: { type: 'webhook', url: r.url },
    });
    expect(trigger.status).toBe(201);
    await track([
      clientEvent({
        anonymousId: `anon-${randomUUID()}`,
        name: 'add_to_cart',
        properties: { productId: 'p1', quantity: 1, price: 3 },
      }),
    ]);
    const list = await waitFor(async () => {
      const d = await admin('GET', `/api/triggers/${trigger.body.id}/deliveries`);
      return d.body.deliveries?.length ? d : null;
    });
    expect(list.body.deliveries[0]).toMatchObject({ kind: 'webhook', status: 'sent', target: r.url, attempt: 1 });
    expect((await admin('GET', `/api/triggers/${trigger.body.id}/deliveries`, undefined, other.secretKey)).status).toBe(
      404,
    );
  });

  it('GET /api/profiles/search finds profiles by the start of their e-mail, any case, in the key’s site only', async () => {
    const tag = randomUUID().slice(0, 8);
    const server = (email: string) => ({ event: 'newsletter_signup', email, messageId: randomUUID() });
    const res = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.site.secretKey}` },
      body: JSON.stringify({
        batch: [server(`ada.${tag}@example.com`), server(`adam.${tag}@example.com`), server(`bob.${tag}@example.com`)],
      }),
    });
    expect(res.status).toBe(202);
    const found = await waitFor(async () => {
      const r = await admin('GET', `/api/profiles/search?q=ADA`);
      return r.body.profiles?.length >= 2 ? r : null;
    });
    expect(found.body.profiles.map((p: { email: string }) => p.email)).toEqual([
      `ada.${tag}@example.com`,
      `adam.${tag}@example.com`,
    ]);
    expect((await admin('GET', '/api/profiles/search?q=a.*')).body.profiles).toEqual([]); // not a pattern
    expect((await admin('GET', '/api/profiles/search?q=ada', undefined, other.secretKey)).body.profiles).toEqual([]);
    expect((await admin('GET', '/api/profiles/search')).status).toBe(400);
  });

  it('the new routes are in the OpenAPI document', async () => {
    const doc = await (await fetch(`${t.url}/docs/json`)).json();
    for (const path of [
      '/api/events',
      '/api/profiles/search',
      '/api/metrics/top-pages',
      '/api/dead-letters',
      '/api/dead-letters/{id}/replay',
      '/api/triggers/{id}/deliveries',
      '/api/webhooks/{id}/test',
      '/api/webhooks/{id}/deliveries/{deliveryId}/retry',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });
});
