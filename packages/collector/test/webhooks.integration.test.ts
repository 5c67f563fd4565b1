import { randomUUID } from 'node:crypto';
import { verifyWebhookSignature } from '@trackmate/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startReceiver } from './helpers/webhook-receiver.js';

describe('outgoing webhooks (real HTTP receivers)', () => {
  let t: TestApp;
  const receivers: Array<Awaited<ReturnType<typeof startReceiver>>> = [];
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const receiver = async (answer: (n: number) => number | 'hang') => {
    const r = await startReceiver(answer);
    receivers.push(r);
    return r;
  };
  const track = async (events: Array<Record<string, unknown>>) => {
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: events });
    expect(res.status).toBe(202);
  };

  beforeAll(async () => {
    t = await startTestApp({
      env: { TRACKMATE_JOB_BACKOFF_MS: '100', TRACKMATE_JOB_ATTEMPTS: '4', TRACKMATE_WEBHOOK_TIMEOUT_MS: '3000' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('a receiver failing twice then succeeding gets the event once per attempt, each signed so it verifies', async () => {
    const r = await receiver((n) => (n <= 2 ? 500 : 200));
    const created = await admin('POST', '/api/webhooks', { url: r.url, events: ['add_to_cart'] });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_/);
    expect((await admin('GET', `/api/webhooks/${created.body.id}`)).body.secret).toBeUndefined();

    const cart = clientEvent({ name: 'add_to_cart', properties: { productId: 'p1', quantity: 2, price: 5 } });
    await track([cart, clientEvent()]); // the page_view is not subscribed
    await waitFor(() => r.requests.length >= 3, 15_000, 'three attempts');
    await new Promise((res) => setTimeout(res, 800));
    expect(r.requests).toHaveLength(3);

    const bodies = new Set(r.requests.map((q) => q.body));
    expect(bodies.size).toBe(1); // the same bytes every attempt
    for (const q of r.requests) {
      expect(verifyWebhookSignature({ body: q.body, header: q.headers['x-trackmate-signature'], secret })).toBe(true);
      expect(
        verifyWebhookSignature({ body: q.body, header: q.headers['x-trackmate-signature'], secret: `${secret}x` }),
      ).toBe(false);
      expect(q.headers['content-type']).toBe('application/json');
    }
    const payload = JSON.parse(r.requests[0]!.body);
    expect(payload).toMatchObject({
      type: 'event',
      event: { messageId: cart.messageId, name: 'add_to_cart', properties: { productId: 'p1' } },
    });
    expect(payload.event.ip).toBeUndefined();
    // each retry waited for its backoff (TRACKMATE_JOB_BACKOFF_MS = 100, then doubling)
    expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(90);
    expect(r.requests[2]!.at - r.requests[1]!.at).toBeGreaterThanOrEqual(190);

    const deliveries = await waitFor(
      async () => {
        const list = (await admin('GET', `/api/webhooks/${created.body.id}/deliveries`)).body.deliveries as Array<
          Record<string, unknown>
        >;
        return list.length === 3 ? list : null;
      },
      5_000,
      'three deliveries',
    );
    expect(deliveries.map((d) => [d.attempt, d.status, d.responseCode])).toEqual([
      [3, 'sent', 200],
      [2, 'failed', 500],
      [1, 'failed', 500],
    ]);
    expect(deliveries.every((d) => typeof d.latencyMs === 'number')).toBe(true);
    expect(await t.db.collection('dead_letters').countDocuments({ queue: 'webhooks' })).toBe(0);
  });

  it('a receiver that keeps failing ends in dead_letters after the last attempt; a 4xx is not retried', async () => {
    const down = await receiver(() => 503);
    const refuses = await receiver(() => 410);
    await admin('POST', '/api/webhooks', { url: down.url, events: ['deep_scroll'] });
    await admin('POST', '/api/webhooks', { url: refuses.url, events: ['deep_scroll'] });
    await track([clientEvent({ name: 'deep_scroll', properties: { percentage: 90 } })]);
    await waitFor(
      async () => (await t.db.collection('dead_letters').countDocuments({ queue: 'webhooks' })) === 2,
      15_000,
      'two dead letters',
    );
    expect(down.requests).toHaveLength(4); // TRACKMATE_JOB_ATTEMPTS
    expect(refuses.requests).toHaveLength(1);
    const letters = await t.db.collection('dead_letters').find({ queue: 'webhooks' }).toArray();
    expect(letters.map((l) => l.reason).sort()).toEqual(
      [
        `webhook to ${refuses.url} failed: receiver answered 410`,
        `webhook to ${down.url} failed: receiver answered 503`,
      ].sort(),
    );
  });

  it('a receiver that never answers does not slow ingestion: events are stored and rolled up meanwhile', async () => {
    const hung = await receiver(() => 'hang');
    await admin('POST', '/api/webhooks', { url: hung.url, events: ['*'] });
    const anon = `anon-${randomUUID()}`;
    for (let i = 0; i < 5; i++) {
      await track(
        Array.from({ length: 20 }, () =>
          clientEvent({ name: 'button_click', anonymousId: anon, properties: { elementId: 'b', text: 'Go' } }),
        ),
      );
    }
    const day = new Date().toISOString().slice(0, 10);
    await waitFor(
      async () => {
        const metrics = await admin('GET', `/api/metrics?from=${day}&to=${day}&event=button_click`);
        return metrics.body.events[0]?.totals.count === 100;
      },
      // bounded by a condition, not a clock: had ingestion waited on its 100 deliveries, each hanging for the 3 s
      // timeout, storing them would take minutes
      60_000,
      'events stored and rolled up',
    );
    expect(await t.db.collection('events').countDocuments({ anonymousId: anon })).toBe(100);
    await waitFor(() => hung.requests.length > 0, 5_000, 'deliveries under way');
    const timedOut = await waitFor(
      () => t.db.collection('deliveries').findOne({ target: hung.url, error: 'no answer within 3000 ms' }),
      10_000,
      'a timed-out attempt recorded',
    );
    expect(timedOut.latencyMs).toBeGreaterThanOrEqual(2_900);
  });

  it('checks webhook input: http(s) URLs only, known event names', async () => {
    expect((await admin('POST', '/api/webhooks', { url: 'ftp://x.test/', events: ['page_view'] })).status).toBe(400);
    expect((await admin('POST', '/api/webhooks', { url: 'https://x.test/', events: ['Not A Name'] })).status).toBe(400);
    expect((await admin('POST', '/api/webhooks', { url: 'https://x.test/', events: [] })).status).toBe(400);
    expect((await adminCall(t.url, 'sk_wrong', 'GET', '/api/webhooks')).status).toBe(401);
  });
});
