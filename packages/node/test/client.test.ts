import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DropReport,
  type GenericServerEvent,
  TrackMate,
  type TrackMateError,
  type TrackMateOptions,
} from '../src/index.js';
import {
  accept,
  type Reply,
  SECRET_KEY,
  type StubCollector,
  startStubCollector,
  until,
} from './helpers/stub-collector.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(
  options: Partial<TrackMateOptions> = {},
  reply?: (req: Parameters<NonNullable<Parameters<typeof startStubCollector>[0]>>[0], index: number) => Reply,
) {
  const stub = await startStubCollector(reply);
  const client = new TrackMate({ secretKey: SECRET_KEY, host: stub.host, flushInterval: 60_000, ...options });
  const drops: DropReport[] = [];
  const errors: TrackMateError[] = [];
  client.on('drop', (d) => drops.push(d));
  client.on('error', (e) => errors.push(e));
  cleanup.push(async () => {
    await client.close({ timeout: 1000 });
    await stub.close();
  });
  return { stub, client, drops, errors };
}

const names = (stub: StubCollector) => stub.events().map((e) => e.event);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('batching', () => {
  it('sends one authenticated batch request as soon as flushAt events are queued', async () => {
    const { stub, client } = await setup({ flushAt: 3 });
    client.track('a', { n: 1 }, { email: 'a@example.com' });
    client.track('b');
    expect(stub.requests).toHaveLength(0);
    client.track('c');
    await until(() => stub.requests.length === 1);
    const [req] = stub.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/api/track/server-event');
    expect(req?.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.json.batch?.map((e) => e.event)).toEqual(['a', 'b', 'c']);
    // The remainder below flushAt waits for the interval or an explicit flush.
    client.track('d');
    await sleep(100);
    expect(stub.requests).toHaveLength(1);
    await client.flush();
    expect(names(stub)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sends a partial batch once flushInterval has passed since the first queued event', async () => {
    const { stub, client } = await setup({ flushAt: 100, flushInterval: 150 });
    const start = Date.now();
    client.track('a');
    client.track('b');
    await sleep(50);
    expect(stub.requests).toHaveLength(0);
    await until(() => stub.requests.length === 1);
    expect(stub.requests[0]!.at - start).toBeGreaterThanOrEqual(140);
    expect(names(stub)).toEqual(['a', 'b']);
  });

  it('flush() waits for the events queued before it, not for those queued after', async () => {
    const { stub, client } = await setup({ flushAt: 1, maxInFlight: 1 }, (req) => ({
      ...(accept(req) as object),
      status: 202,
      delay: 100,
    }));
    client.track('before');
    const flushed = client.flush();
    client.track('after_1');
    client.track('after_2');
    await flushed;
    expect(names(stub)[0]).toBe('before');
    expect(stub.requests.length).toBeLessThan(3);
    await client.flush();
    expect(names(stub)).toEqual(['before', 'after_1', 'after_2']);
  });

  it('splits what is queued into requests of at most 500 events and 512 KB', async () => {
    const { stub, client } = await setup({ flushAt: 500 });
    const filler = 'x'.repeat(2000);
    for (let i = 0; i < 700; i++) client.track('bulk', { i, filler });
    await client.flush();
    expect(stub.events()).toHaveLength(700);
    for (const req of stub.requests) {
      const uncompressed = Buffer.byteLength(JSON.stringify(req.json));
      expect(uncompressed).toBeLessThanOrEqual(512 * 1024);
      expect(req.json.batch!.length).toBeLessThanOrEqual(500);
    }
    // Two requests may be in flight at once, so arrival order across requests is not fixed.
    const received = stub.events().map((e) => (e.properties as { i: number }).i);
    expect(received.sort((a, b) => a - b)).toEqual([...Array(700).keys()]);
  });
});

describe('event payloads', () => {
  it('sends an order as the order_placed payload, without messageId so the collector dedupes on orderId', async () => {
    const { stub, client } = await setup();
    client.orderPlaced({
      orderId: 'ORD-1',
      profile: { email: 'buyer@example.com', firstName: 'Asha' },
      items: [{ name: 'Mug', sku: 'MUG-1', amount: 10, tax: 2, discount: 0 }],
      orderTotal: 12,
    });
    client.orderPlaced({
      event: 'order_placed',
      messageId: 'mine',
      orderId: 'ORD-2',
      profile: { email: 'buyer@example.com' },
      items: [{ name: 'Mug', sku: 'MUG-1', amount: 10, tax: 2, discount: 0 }],
      orderTotal: 12,
      timestamp: '2026-01-01T00:00:00.000Z',
    });
    await client.flush();
    const [first, second] = stub.events();
    expect(first).toMatchObject({ event: 'order_placed', orderId: 'ORD-1', orderTotal: 12 });
    expect(first).not.toHaveProperty('messageId');
    expect(Date.parse(first!.timestamp as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(second).toMatchObject({ messageId: 'mine', timestamp: '2026-01-01T00:00:00.000Z' });
  });

  it('gives track and identify events a fresh random messageId and the identity asked for', async () => {
    const { stub, client } = await setup();
    client.track('plan_upgraded', { plan: 'pro' }, { email: 'a@example.com' });
    client.track('plan_upgraded', { plan: 'pro' }, { profileId: '0123456789abcdef01234567' });
    client.identify({ email: 'a@example.com', phone: '+911234567890' }, { anonymousId: 'anon-1' });
    await client.flush();
    const [a, b, c] = stub.events();
    expect(a).toMatchObject({ event: 'plan_upgraded', email: 'a@example.com', properties: { plan: 'pro' } });
    expect(b).toMatchObject({ profileId: '0123456789abcdef01234567' });
    expect(c).toMatchObject({
      event: 'identify',
      anonymousId: 'anon-1',
      profile: { phone: '+911234567890' },
    });
    const ids = [a, b, c].map((e) => e!.messageId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(3);
  });
});

describe('retries', () => {
  it('retries a 503 until the collector answers 202 and loses nothing', async () => {
    const { stub, client, drops, errors } = await setup({ minRetryDelay: 10 }, (req, i) =>
      i < 2 ? { status: 503, headers: { 'retry-after': '0' } } : accept(req),
    );
    for (let i = 0; i < 10; i++) client.track('e', { i });
    await client.flush();
    expect(stub.requests).toHaveLength(3);
    // Every attempt carries the same events with the same messageIds, so the collector can dedupe.
    const ids = stub.requests.map((r) => r.json.batch!.map((e) => e.messageId));
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).toEqual(ids[0]);
    expect(ids[0]).toHaveLength(10);
    expect(drops).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('waits at least the Retry-After of a 429 before retrying, even past maxRetryDelay', async () => {
    const { stub, client } = await setup({ minRetryDelay: 10, maxRetryDelay: 20 }, (req, i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : accept(req),
    );
    client.track('e');
    await client.flush();
    expect(stub.requests).toHaveLength(2);
    expect(stub.requests[1]!.at - stub.requests[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('does not retry a 400 and reports the events it gave up', async () => {
    const { stub, client, drops, errors } = await setup({ minRetryDelay: 10 }, () => ({
      status: 400,
      body: { code: 'TM_ERR_VALIDATION' },
    }));
    client.track('e', { i: 1 });
    await client.flush();
    await sleep(100);
    expect(stub.requests).toHaveLength(1);
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({ reason: 'failed', events: [{ event: 'e', properties: { i: 1 } }] });
    expect(errors[0]).toMatchObject({ code: 'TM_ERR_HTTP', status: 400 });
  });

  it('does not retry a 401 and says the key was refused', async () => {
    const { stub, client, errors } = await setup({ minRetryDelay: 10 }, () => ({ status: 401 }));
    client.track('e');
    await client.flush();
    expect(stub.requests).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'TM_ERR_UNAUTHORIZED', status: 401 });
  });

  it('gives up after maxRetries and reports the batch as dropped', async () => {
    const { stub, client, drops } = await setup({ minRetryDelay: 5, maxRetries: 2 }, () => ({ status: 500 }));
    client.track('e');
    await client.flush();
    expect(stub.requests).toHaveLength(3);
    expect(drops.map((d) => d.reason)).toEqual(['failed']);
  });

  it('aborts a request that outlives the timeout and retries it', async () => {
    const { stub, client, drops } = await setup({ timeout: 100, minRetryDelay: 10 }, (req, i) =>
      i === 0 ? 'hang' : accept(req),
    );
    client.track('e');
    const start = Date.now();
    await client.flush();
    expect(stub.requests).toHaveLength(2);
    expect(stub.requests[1]!.at - start).toBeGreaterThanOrEqual(95);
    expect(drops).toEqual([]);
  });

  it('reports TM_ERR_TIMEOUT when every attempt times out', async () => {
    const { client, drops } = await setup({ timeout: 50, minRetryDelay: 5, maxRetries: 1 }, () => 'hang');
    client.track('e');
    await client.flush();
    expect(drops).toHaveLength(1);
    expect(drops[0]!.error.code).toBe('TM_ERR_TIMEOUT');
  });

  it('halves a batch the collector answers 413 to until it fits', async () => {
    const { stub, client, drops } = await setup({ flushAt: 8 }, (req) =>
      req.json.batch!.length > 2 ? { status: 413 } : accept(req),
    );
    for (let i = 0; i < 8; i++) client.track('e', { i });
    await client.flush();
    const delivered = stub.requests.filter((r) => r.json.batch!.length <= 2).flatMap((r) => r.json.batch!);
    expect(delivered.map((e) => (e.properties as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(drops).toEqual([]);
  });

  it('reports the events a 202 lists as rejected, with the collector errors', async () => {
    const { client, drops } = await setup({}, () => ({
      status: 202,
      body: { accepted: 1, rejected: [{ index: 1, errors: [{ path: '/event', message: 'bad name' }] }] },
    }));
    client.track('good');
    client.track('Bad Name');
    await client.flush();
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({
      reason: 'rejected',
      events: [{ event: 'Bad Name' }],
      details: [[{ path: '/event', message: 'bad name' }]],
    });
  });
});

describe('gzip', () => {
  it('gzips a body of 16 KB or more, and the collector gets the same events back', async () => {
    const { stub, client } = await setup({ flushAt: 50 });
    for (let i = 0; i < 50; i++) client.track('big', { i, text: 'lorem ipsum '.repeat(40) });
    await until(() => stub.requests.length === 1);
    const [req] = stub.requests;
    expect(req!.headers['content-encoding']).toBe('gzip');
    expect(req!.raw.length).toBeLessThan(Buffer.byteLength(JSON.stringify(req!.json)) / 4);
    expect(req!.json.batch!.map((e) => (e.properties as { i: number }).i)).toEqual([...Array(50).keys()]);
  });

  it('sends small bodies plain, and plain from then on when the collector answers 415 to gzip', async () => {
    const { stub, client, drops } = await setup({ flushAt: 50 }, (req) =>
      req.headers['content-encoding'] === 'gzip' ? { status: 415 } : accept(req),
    );
    client.track('small');
    await client.flush();
    expect(stub.requests[0]!.headers['content-encoding']).toBeUndefined();
    for (let i = 0; i < 50; i++) client.track('big', { text: 'lorem ipsum '.repeat(40) });
    await client.flush();
    expect(stub.requests.map((r) => r.headers['content-encoding'] ?? 'plain')).toEqual(['plain', 'gzip', 'plain']);
    const accepted = stub.requests.filter((r) => !r.headers['content-encoding']).flatMap((r) => r.json.batch!);
    expect(accepted).toHaveLength(51);
    expect(drops).toEqual([]);
  });

  it('never gzips with gzip: false', async () => {
    const { stub, client } = await setup({ flushAt: 50, gzip: false });
    for (let i = 0; i < 50; i++) client.track('big', { text: 'lorem ipsum '.repeat(40) });
    await client.flush();
    expect(stub.requests[0]!.headers['content-encoding']).toBeUndefined();
  });
});

describe('queue bound and shutdown', () => {
  it('drops events past maxQueueSize and reports exactly those', async () => {
    const { stub, client, drops } = await setup({ maxQueueSize: 5, flushAt: 100 });
    for (let i = 1; i <= 8; i++) client.track(`e${i}`);
    expect(drops.map((d) => [d.reason, d.events.map((e) => e.event)])).toEqual([
      ['queue_full', ['e6']],
      ['queue_full', ['e7']],
      ['queue_full', ['e8']],
    ]);
    expect(drops[0]!.error.code).toBe('TM_ERR_QUEUE_FULL');
    await client.close();
    expect(names(stub)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('close() delivers everything queued, through a slow collector, before it resolves', async () => {
    const { stub, client, drops } = await setup({ flushAt: 10, maxInFlight: 1 }, (req) => ({
      ...(accept(req) as object),
      status: 202,
      delay: 20,
    }));
    for (let i = 0; i < 95; i++) client.track('e', { i });
    await client.close();
    expect(stub.events()).toHaveLength(95);
    expect(client.queued).toBe(0);
    client.track('late');
    await sleep(50);
    expect(stub.events()).toHaveLength(95);
    expect(drops.map((d) => [d.reason, d.events[0]?.event])).toEqual([['closed', 'late']]);
  });

  it('close({ timeout }) gives up on a collector that keeps failing and reports what it dropped', async () => {
    const { client, drops } = await setup({ minRetryDelay: 10_000, flushAt: 2 }, () => ({ status: 503 }));
    for (let i = 0; i < 3; i++) client.track('e', { i });
    const start = Date.now();
    await client.close({ timeout: 200 });
    expect(Date.now() - start).toBeLessThan(2000);
    const dropped = drops
      .flatMap((d) => d.events.map((e) => ((e as GenericServerEvent).properties as { i: number }).i))
      .sort();
    expect(dropped).toEqual([0, 1, 2]);
    expect(new Set(drops.map((d) => d.reason))).toEqual(new Set(['closed']));
  });

  it('delivers what a short script queued, without close(), before the process exits', async () => {
    const { stub } = await setup();
    const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const script = `
      const { TrackMate } = await import(${JSON.stringify(entry)});
      const tm = new TrackMate({ secretKey: ${JSON.stringify(SECRET_KEY)}, host: ${JSON.stringify(stub.host)}, flushInterval: 200 });
      tm.track('script_ran');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: 'inherit',
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(names(stub)).toEqual(['script_ran']);
  });

  it('keeps a path prefix of host (a collector behind /trackmate/)', async () => {
    const stub = await startStubCollector();
    const client = new TrackMate({ secretKey: SECRET_KEY, host: `${stub.host}/trackmate/` });
    cleanup.push(async () => {
      await client.close();
      await stub.close();
    });
    client.track('e');
    await client.flush();
    expect(stub.requests.map((r) => r.url)).toEqual(['/trackmate/api/track/server-event']);
  });

  it('refuses a public write key with a clear message', () => {
    expect(() => new TrackMate({ secretKey: 'pk_abc', host: 'http://x' })).toThrow(/secret key/);
    expect(() => new TrackMate({ secretKey: 'sk_abc', host: 'localhost:8080' })).toThrow(/host/);
    expect(() => new TrackMate({ secretKey: 'sk_abc', host: 'http://x', flushAt: 501 })).toThrow(/flushAt/);
  });

  it('reports an event larger than 32 KB instead of sending it', async () => {
    const { stub, client, drops } = await setup();
    client.track('huge', { text: 'x'.repeat(33 * 1024) });
    client.track('fine');
    await client.flush();
    expect(names(stub)).toEqual(['fine']);
    expect(drops).toHaveLength(1);
    expect(drops[0]?.reason).toBe('invalid');
    expect(drops[0]?.error.code).toBe('TM_ERR_EVENT_TOO_LARGE');
    // The limit is in UTF-8 bytes: 11,000 '€' are 11,000 characters but 33,000 bytes.
    client.track('euros', { text: '€'.repeat(11_000) });
    client.track('ascii', { text: 'e'.repeat(11_000) });
    await client.flush();
    expect(names(stub)).toEqual(['fine', 'ascii']);
    expect(drops.map((d) => d.events[0]?.event)).toEqual(['huge', 'euros']);
  });
});
