import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DropReport, TrackMate, type TrackMateOptions } from '../src/index.js';
import { poll, type RealCollector, startProxy, startRealCollector } from './helpers/real-collector.js';

// The SDK against the real collector (API + ingest worker), MongoDB and Redis.
let collector: RealCollector;
beforeAll(async () => {
  collector = await startRealCollector();
}, 300_000);
/** Each test may wait for the worker to store what the collector accepted. */
const slow = { timeout: 180_000 };
afterAll(async () => {
  await collector?.stop();
});

function client(options: Partial<TrackMateOptions> = {}) {
  const tm = new TrackMate({
    secretKey: collector.site.secretKey,
    host: collector.host,
    minRetryDelay: 50,
    ...options,
  });
  const drops: DropReport[] = [];
  tm.on('drop', (d) => drops.push(d));
  return { tm, drops };
}

const events = () => collector.db.collection('events');
const profiles = () => collector.db.collection('profiles');
const count = (name: string) => () => events().countDocuments({ name });

/** The `order_placed` payload of docs/api.md. */
const specOrder = (orderId: string, email: string) => ({
  event: 'order_placed' as const,
  orderId,
  profile: { firstName: 'Asha', lastName: 'Rao', email, phone: '+911234567890' },
  shippingAddress: { street: '1 MG Road', city: 'Bengaluru', postcode: '560001', country: 'IN' },
  billingAddress: { street: '1 MG Road', city: 'Bengaluru', postcode: '560001', country: 'IN' },
  items: [
    { name: 'Mug', sku: 'MUG-1', amount: 10, tax: 1.8, discount: 0 },
    { name: 'Tea', sku: 'TEA-7', amount: 6.5, tax: 1.17, discount: 0.5 },
  ],
  orderTotal: 18.97,
  timestamp: '2026-11-28T10:00:00.000Z',
});

describe('@trackmate/node against the real collector', () => {
  it('stores the documented order sent twice once, linked to one profile with its fields', slow, async () => {
    const { tm, drops } = client();
    tm.orderPlaced(specOrder('ORD-SPEC-1', 'Asha.Rao@Example.com'));
    await tm.flush();
    tm.orderPlaced(specOrder('ORD-SPEC-1', 'Asha.Rao@Example.com')); // a double submit
    // A marker sent after both: once it is stored, the worker has seen the second order's request too.
    tm.track('marker_after_orders', {}, { email: 'asha.rao@example.com' });
    await tm.close();
    expect(drops).toEqual([]);

    await poll(count('marker_after_orders'), (n) => n === 1);
    const orders = await poll(
      () => events().find({ name: 'order_placed' }).toArray(),
      (list) => list.length > 0,
    );
    expect(orders, collector.log()).toHaveLength(1);
    const [order] = orders;
    const people = await profiles().find({ email: 'asha.rao@example.com' }).toArray();
    expect(people).toHaveLength(1);
    const [person] = people;
    expect(person).toMatchObject({ firstName: 'Asha', lastName: 'Rao', phone: '+911234567890' });
    expect(String(order?.profileId)).toBe(String(person?._id));
    expect(order?.timestamp).toEqual(new Date('2026-11-28T10:00:00.000Z'));
    expect(JSON.stringify(order)).toContain('ORD-SPEC-1');
    expect(JSON.stringify(order)).toContain('TEA-7');
  });

  it(
    "identify() with a browser visitor's anonymousId links that visitor's earlier events to the profile",
    slow,
    async () => {
      const anonymousId = `anon-${Date.now()}`;
      const browserEvent = await fetch(`${collector.host}/api/track/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://x.test' },
        body: JSON.stringify({
          writeKey: collector.site.writeKey,
          sentAt: new Date().toISOString(),
          batch: [
            {
              messageId: crypto.randomUUID(),
              name: 'page_view',
              timestamp: new Date().toISOString(),
              anonymousId,
              sessionId: 'session-1',
              properties: { url: 'http://x.test/', referrer: '', title: 'Home' },
            },
          ],
        }),
      });
      expect(browserEvent.status).toBe(202);
      await poll(
        () => events().countDocuments({ anonymousId }),
        (n) => n === 1,
      );

      const { tm, drops } = client();
      tm.identify({ email: 'linked@example.com', firstName: 'Lin' }, { anonymousId });
      await tm.close();
      expect(drops).toEqual([]);

      const person = await poll(
        () => profiles().findOne({ email: 'linked@example.com' }),
        (p) => p !== null,
      );
      const pageView = await poll(
        () => events().findOne({ anonymousId, name: 'page_view' }),
        (e) => String(e?.profileId) === String(person?._id),
      );
      expect(String(pageView?.profileId)).toBe(String(person?._id));
      expect(person?.anonymousIds).toContain(anonymousId);
    },
  );

  it('retries through a collector that answers 503 and loses nothing', slow, async () => {
    const proxy = await startProxy(collector.host, (i) => (i < 2 ? 503 : undefined));
    try {
      const { tm, drops } = client({ host: proxy.host, flushAt: 50 });
      for (let i = 0; i < 120; i++) tm.track('retry_probe', { i }, { email: `probe${i % 3}@example.com` });
      await tm.close();
      expect(drops).toEqual([]);
      expect(proxy.seen.slice(0, 2).map((s) => s.status)).toEqual([503, 503]);
      expect(await poll(count('retry_probe'), (n) => n >= 120), collector.log()).toBe(120);
    } finally {
      await proxy.close();
    }
  });

  it('close() delivers everything queued, gzipped batches included', slow, async () => {
    const { tm, drops } = client({ flushAt: 100 });
    for (let i = 0; i < 1000; i++) {
      tm.track('drain_probe', { i, note: 'x'.repeat(200) }, { email: `drain${i % 10}@example.com` });
    }
    await tm.close();
    expect(drops).toEqual([]);
    expect(await poll(count('drain_probe'), (n) => n >= 1000), collector.log()).toBe(1000);
  });

  it('does not retry a 400, and stores the good neighbours of a rejected event', slow, async () => {
    const proxy = await startProxy(collector.host);
    try {
      const { tm, drops } = client({ host: proxy.host });
      tm.track('Not A Valid Name');
      await tm.flush();
      expect(proxy.seen.map((s) => s.status)).toEqual([400]);
      expect(drops.map((d) => [d.reason, d.error.status])).toEqual([['failed', 400]]);

      tm.track('good_neighbour', {}, { email: 'n@example.com' });
      tm.track('Bad Neighbour');
      await tm.close();
      expect(proxy.seen.map((s) => s.status)).toEqual([400, 202]);
      expect(drops[1]).toMatchObject({ reason: 'rejected', events: [{ event: 'Bad Neighbour' }] });
      expect(await poll(count('good_neighbour'), (n) => n >= 1), collector.log()).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('refuses a wrong secret key with 401 and reports it once per batch, without retrying', slow, async () => {
    const proxy = await startProxy(collector.host);
    try {
      const tm = new TrackMate({ secretKey: 'sk_not_a_real_key', host: proxy.host, minRetryDelay: 50 });
      const errors: string[] = [];
      tm.on('error', (e) => errors.push(`${e.code} ${e.status}`));
      tm.track('nope');
      await tm.close();
      expect(proxy.seen.map((s) => s.status)).toEqual([401]);
      expect(errors).toEqual(['TM_ERR_UNAUTHORIZED 401']);
    } finally {
      await proxy.close();
    }
  });
});
