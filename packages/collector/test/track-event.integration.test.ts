import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { clientEvent, postEvents, storedEvents, type TestApp, useTestApp, waitFor } from './helpers/harness.js';

let t: TestApp;
let key: string;
useTestApp({}, (started) => {
  t = started;
  key = started.site.writeKey;
});
const { events, stored, waitStored } = storedEvents(() => t);

const standard: Record<string, Record<string, unknown>> = {
  active_site: { url: 'https://shop.test/', sessionId: 'sess-1' },
  page_view: { url: 'https://shop.test/p/1', referrer: 'https://google.test/', title: 'Product 1' },
  deep_scroll: { percentage: 75 },
  button_click: { elementId: 'buy-now', text: 'Buy now' },
  add_to_cart: { productId: 'p-1', quantity: 2, price: 19.99 },
  form_submit: {
    formId: 'newsletter',
    fields: {
      email: 'Ann@Example.com',
      firstName: 'Ann',
      lastName: 'Lee',
      phone: '+44 20 7946 0958',
      accept_terms: true,
    },
  },
  order_product: { orderId: 'o-1', items: [{ productId: 'p-1', amount: 39.98, tax: 4, discount: 0 }] },
  identify: { email: 'bob@example.com', firstName: 'Bob', consent: false },
};

describe('POST /api/track/event', () => {
  it('accepts every standard client event and stores it with its required properties', async () => {
    const batch = Object.entries(standard).map(([name, properties]) =>
      clientEvent({ name, properties, anonymousId: `std-${name}` }),
    );
    const res = await postEvents(t.url, { writeKey: key, sentAt: new Date().toISOString(), batch });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: batch.length, rejected: [] });
    const docs = await waitStored(batch.map((e) => e.messageId as string));
    for (const e of batch) {
      const doc = docs.find((d) => d.messageId === e.messageId)!;
      expect(doc.name).toBe(e.name);
      expect(doc.properties).toEqual(e.properties);
      expect(doc.siteId.toString()).toBe(t.site.siteId);
      expect(doc.anonymousId).toBe(e.anonymousId);
      expect(doc.sessionId).toBe('sess-1');
      expect(doc.timestamp).toBeInstanceOf(Date);
      expect(doc.receivedAt).toBeInstanceOf(Date);
      expect(doc.ip).toBe('127.0.0.1');
    }
    // form_submit and identify made profiles, e-mail lower-cased, phone in E.164, consent from accept_terms
    const ann = await waitFor(() => t.db.collection('profiles').findOne({ email: 'ann@example.com' }));
    expect(ann).toMatchObject({ firstName: 'Ann', lastName: 'Lee', phone: '+442079460958', consent: { email: true } });
    const bob = await waitFor(() => t.db.collection('profiles').findOne({ email: 'bob@example.com' }));
    expect(bob.consent.email).toBe(false);
    const form = docs.find((d) => d.name === 'form_submit')!;
    expect(form.profileId?.toString()).toBe(ann._id.toString());
  });

  it('takes a single text/plain event with the key in ?writeKey= (the beacon form)', async () => {
    const e = clientEvent();
    const res = await postEvents(t.url, e, {
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      query: `?writeKey=${key}`,
    });
    expect(res.status).toBe(202);
    await waitStored([e.messageId as string]);
  });

  it('takes the key from the X-TrackMate-Key header and a gzip body', async () => {
    const e = clientEvent();
    const res = await fetch(`${t.url}/api/track/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-trackmate-key': key },
      body: gzipSync(JSON.stringify(e)),
    });
    expect(res.status).toBe(202);
    await waitStored([e.messageId as string]);
  });

  it('stores exactly the good events of a mixed batch and names what is wrong with the bad ones', async () => {
    const good = [clientEvent(), clientEvent({ name: 'newsletter_open', properties: { issue: 42 } })];
    const bad = [
      clientEvent({ name: 'page_view', properties: { url: 'https://x.test' } }), // missing referrer, title
      clientEvent({ name: 'Not Valid' }),
      clientEvent({ properties: { url: 'u', referrer: '', title: 't', $where: 'x' } }),
      clientEvent({ properties: { url: 'u', referrer: '', title: 't', 'a.b': 1 } }),
      JSON.parse(
        `{"messageId":"proto-1","name":"x","timestamp":"${new Date().toISOString()}","anonymousId":"a","properties":{"__proto__":{"admin":true}}}`,
      ),
      'not an object',
    ];
    const batch = [good[0], ...bad, good[1]];
    const res = await postEvents(t.url, { writeKey: key, batch });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(2);
    const rejected = res.body.rejected as Array<{ index: number; errors: string[] }>;
    expect(rejected.map((r) => r.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rejected[0]!.errors.join()).toMatch(/referrer/);
    expect(rejected[2]!.errors.join()).toMatch(/\$where/);
    expect(rejected[3]!.errors.join()).toMatch(/a\.b/);
    expect(rejected[4]!.errors.join()).toMatch(/__proto__/);
    await waitStored(good.map((e) => e.messageId as string));
    await new Promise((r) => setTimeout(r, 500));
    const all = await events()
      .find({ messageId: { $in: batch.map((e) => (e as { messageId?: string }).messageId).filter(Boolean) } })
      .toArray();
    expect(all.map((d) => d.messageId).sort()).toEqual(good.map((e) => e.messageId).sort());
  });

  it('stores each event once when the same batch is sent twice', async () => {
    const batch = Array.from({ length: 20 }, () => clientEvent());
    const ids = batch.map((e) => e.messageId as string);
    expect((await postEvents(t.url, { writeKey: key, batch })).status).toBe(202);
    expect((await postEvents(t.url, { writeKey: key, batch })).status).toBe(202);
    await waitStored(ids);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await events().countDocuments({ messageId: { $in: ids } })).toBe(20);
  });

  it('corrects client clock skew: timestamp = receivedAt − (sentAt − timestamp)', async () => {
    const skewMs = 3 * 3600_000; // the client's clock runs 3 h fast
    const now = Date.now();
    const e = clientEvent({ timestamp: new Date(now + skewMs - 10_000).toISOString() });
    const res = await postEvents(t.url, { writeKey: key, sentAt: new Date(now + skewMs).toISOString(), batch: [e] });
    expect(res.status).toBe(202);
    const [doc] = await waitStored([e.messageId as string]);
    const expected = doc!.receivedAt.getTime() - 10_000;
    expect(Math.abs(doc!.timestamp.getTime() - expected)).toBeLessThan(5);
  });

  it('creates the profile on form_submit and back-fills profileId on the visitor’s earlier page views', async () => {
    const anon = `visitor-${Date.now()}`;
    const views = [clientEvent({ anonymousId: anon }), clientEvent({ anonymousId: anon })];
    expect((await postEvents(t.url, { writeKey: key, batch: views })).status).toBe(202);
    const ids = views.map((e) => e.messageId as string);
    await waitStored(ids);
    expect((await stored(ids)).every((d) => d.profileId === null)).toBe(true);

    const form = clientEvent({
      anonymousId: anon,
      name: 'form_submit',
      properties: { formId: 'signup', fields: { email: 'carol@example.com', firstName: 'Carol', accept_terms: false } },
    });
    expect((await postEvents(t.url, { writeKey: key, batch: [form] })).status).toBe(202);
    const profile = await waitFor(() => t.db.collection('profiles').findOne({ email: 'carol@example.com' }));
    expect(profile.anonymousIds).toEqual([anon]);
    expect(profile.consent.email).toBe(false);
    await waitFor(
      async () => (await stored(ids)).every((d) => d.profileId?.toString() === profile._id.toString()),
      10_000,
      'back-filled profileId',
    );
    // later events of the same visitor are linked on arrival
    const later = clientEvent({ anonymousId: anon });
    await postEvents(t.url, { writeKey: key, batch: [later] });
    const [doc] = await waitStored([later.messageId as string]);
    expect(doc!.profileId?.toString()).toBe(profile._id.toString());
  });
});

describe('status codes', () => {
  it('400 when the body is not JSON, and stores nothing', async () => {
    const res = await postEvents(t.url, null, { raw: '{"name": "page_view", ', query: `?writeKey=${key}` });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('TM_ERR_INVALID_JSON');
  });

  it('400 with the per-event reasons when nothing is valid', async () => {
    const res = await postEvents(t.url, { writeKey: key, batch: [{ name: 'page_view' }] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('TM_ERR_INVALID_PAYLOAD');
    expect((res.body.rejected as Array<{ errors: string[] }>)[0]!.errors.join()).toMatch(/messageId/);
  });

  it('401 without a key and with an unknown key', async () => {
    const missing = await postEvents(t.url, clientEvent());
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('TM_ERR_MISSING_KEY');
    const unknown = await postEvents(t.url, { ...clientEvent(), writeKey: 'pk_nope' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('TM_ERR_UNKNOWN_KEY');
  });

  it('403 for an origin the site does not allow, readable by that page so the SDK stops retrying; allowed origins get CORS headers', async () => {
    const e = clientEvent();
    const denied = await postEvents(t.url, { ...e, writeKey: key }, { headers: { origin: 'https://evil.test' } });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('TM_ERR_ORIGIN_NOT_ALLOWED');
    // without it the browser reports a network error, which the SDK retries for days
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://evil.test');
    const ok = await postEvents(t.url, { ...e, writeKey: key }, { headers: { origin: 'https://shop.test' } });
    expect(ok.status).toBe(202);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.test');
  });

  it('lets a browser read error answers and their Retry-After', async () => {
    const res = await postEvents(
      t.url,
      { writeKey: key, batch: [{ name: 'page_view' }] },
      { headers: { origin: 'https://shop.test' } },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.test');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Retry-After/i);
    const bad = await postEvents(t.url, null, {
      raw: '{',
      query: `?writeKey=${key}`,
      headers: { origin: 'https://shop.test' },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('access-control-allow-origin')).toBe('https://shop.test');
  });

  it('answers CORS pre-flights for allowed origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/api/track/event?writeKey=${key}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const ok = await preflight('https://shop.test');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.test');
    const denied = await preflight('https://evil.test');
    expect(denied.status).toBe(403);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('413 for a body over 512 KB, for more than 500 events, and rejects an event over 32 KB', async () => {
    const big = await postEvents(t.url, {
      writeKey: key,
      batch: [clientEvent({ properties: { blob: 'x'.repeat(600_000) } })],
    });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('TM_ERR_PAYLOAD_TOO_LARGE');
    const many = await postEvents(t.url, { writeKey: key, batch: Array.from({ length: 501 }, () => clientEvent()) });
    expect(many.status).toBe(413);
    expect(many.body.message).toMatch(/500/);
    const fat = clientEvent({ properties: { url: 'u', referrer: '', title: 't', blob: 'x'.repeat(40_000) } });
    const res = await postEvents(t.url, { writeKey: key, batch: [fat, clientEvent()] });
    expect(res.status).toBe(202);
    expect((res.body.rejected as Array<{ errors: string[] }>)[0]!.errors.join()).toMatch(/32768/);
  });

  it('415 for other content types', async () => {
    const res = await postEvents(t.url, clientEvent(), {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      query: `?writeKey=${key}`,
    });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('TM_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects nesting deeper than 64 levels', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = { d: deep };
    const res = await postEvents(t.url, {
      writeKey: key,
      batch: [clientEvent({ name: 'custom_deep', properties: { deep } })],
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.rejected)).toMatch(/nesting deeper than 64/);
  });
});

describe('operations', () => {
  it('/health, /ready, /metrics and /docs answer', async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    const ready = await fetch(`${t.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', mongodb: 'ok', redis: 'ok' });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/trackmate_events_accepted_total\{source="client"\} \d+/);
    expect(metrics).toMatch(/trackmate_queue_depth\{queue="ingest",state="waiting"\}/);
    expect(metrics).toMatch(/trackmate_http_requests_total\{method="POST",route="\/api\/track\/event",status="202"\}/);
    const spec = (await (await fetch(`${t.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toContain('/api/track/event');
    expect((await fetch(`${t.url}/docs`)).status).toBeLessThan(400);
  });
});
