// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTracker } from '../src/tracker.js';
import type { Tracker, TrackerOptions } from '../src/types.js';
import { closeTab, fakeNetwork, showTab, status, stored } from './helpers.js';

const KEY = 'pk_test';
const trackers: Tracker[] = [];
const tracker = (o: Partial<TrackerOptions> = {}) => {
  const t = createTracker({ writeKey: KEY, host: 'https://c.example', ...o });
  trackers.push(t);
  return t;
};
/** A new page load: the old page's tracker is gone, a fresh one starts from what storage kept. */
const nextPage = (o: Partial<TrackerOptions> = {}) => {
  for (const t of trackers.splice(0)) t.teardown();
  return tracker(o);
};

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  showTab();
});
afterEach(() => {
  for (const t of trackers.splice(0)) t.teardown();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('batching', () => {
  it('sends events queued within the flush interval as one batch, after the interval', async () => {
    const net = fakeNetwork();
    const t = tracker({ flushInterval: 1000 });
    t.track('one');
    t.track('two', { n: 2 });
    await vi.advanceTimersByTimeAsync(999);
    expect(net.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.sent).toHaveLength(1);
    const [req] = net.sent;
    expect(req!.url).toBe('https://c.example/api/track/event?writeKey=pk_test');
    expect(req!.body.writeKey).toBeUndefined(); // in the URL's query, for beacons too
    expect(req!.body.batch.map((e) => e.name)).toEqual(['one', 'two']);
    expect(req!.body.batch[1]!.properties).toEqual({ n: 2 });
    expect(Date.parse(req!.body.sentAt)).toBe(Date.now());
  });

  it('accepts a host with a trailing slash or a path prefix', async () => {
    const net = fakeNetwork();
    for (const host of ['https://c.example/', 'https://proxy.example/trackmate']) {
      const t = tracker({ host });
      t.track('a');
      await t.flush();
      t.teardown();
    }
    expect(net.sent.map((s) => s.url)).toEqual([
      'https://c.example/api/track/event?writeKey=pk_test',
      'https://proxy.example/trackmate/api/track/event?writeKey=pk_test',
    ]);
  });

  it('sends at once when batchSize events are queued', async () => {
    const net = fakeNetwork();
    const t = tracker({ batchSize: 3, flushInterval: 60_000 });
    t.track('a');
    t.track('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(net.sent).toHaveLength(0);
    t.track('c');
    await vi.advanceTimersByTimeAsync(0);
    expect(net.names()).toEqual(['a', 'b', 'c']);
  });

  it('gives every event a distinct messageId and the envelope fields the collector requires', async () => {
    const net = fakeNetwork();
    const t = tracker();
    for (let i = 0; i < 5; i++) t.track('tick', { i });
    await t.flush();
    const events = net.events();
    expect(new Set(events.map((e) => e.messageId)).size).toBe(5);
    for (const e of events) {
      expect(Object.keys(e).sort()).toEqual(
        ['anonymousId', 'context', 'messageId', 'name', 'properties', 'sessionId', 'timestamp'].sort(),
      );
      expect(e.context!.library).toEqual({ name: '@trackmate/browser', version: expect.any(String) });
      expect(e.context!.page).toEqual({ url: location.href, title: document.title });
    }
  });

  it('splits a queue above 512 KB or 500 events into several requests', async () => {
    const net = fakeNetwork();
    const t = tracker({ batchSize: 10_000, maxQueueSize: 10_000 });
    for (let i = 0; i < 1001; i++) t.track('small', { i });
    for (let i = 0; i < 20; i++) t.track('big', { pad: 'x'.repeat(30_000) }); // 600 KB: over 512 KB
    await t.flush();
    expect(net.sent.length).toBeGreaterThanOrEqual(4); // 500 + 500 + what fits 512 KB + the rest
    for (const s of net.sent) {
      expect(s.body.batch.length).toBeLessThanOrEqual(500);
      expect(s.bytes).toBeLessThanOrEqual(512 * 1024);
    }
    expect(net.sent.slice(0, 2).map((s) => s.body.batch.length)).toEqual([500, 500]);
    expect(net.events().map((e) => e.name)).toEqual([...Array(1001).fill('small'), ...Array(20).fill('big')]);
  }, 90_000); // every track() rewrites the persisted queue: slow in jsdom on a busy 2-core CI box

  it('uses keepalive only while its in-flight bytes stay within the 64 KB budget', async () => {
    const net = fakeNetwork();
    const pending: ((r: Response) => void)[] = [];
    net.reply(() => new Promise((resolve) => pending.push(resolve)));
    const t = tracker({ batchSize: 10_000 });
    for (let i = 0; i < 8; i++) t.track('big', { pad: 'x'.repeat(10_000) });
    void t.flush();
    await vi.advanceTimersByTimeAsync(0);
    // 80 KB in one request: over the budget, so no keepalive (the browser would refuse it).
    expect(net.sent[0]!.bytes).toBeGreaterThan(64 * 1024);
    expect(net.sent[0]!.keepalive).toBe(false);
    net.reply(() => status(202));
    pending.shift()!(status(202));
    await vi.advanceTimersByTimeAsync(0);
    t.track('small');
    await t.flush();
    expect(net.sent[1]!.keepalive).toBe(true);
  });
});

describe('retry', () => {
  it('retries a 503 after its Retry-After, not sooner, and sends each event once it is accepted', async () => {
    const net = fakeNetwork();
    let calls = 0;
    net.reply(() => (calls++ === 0 ? status(503, { 'Retry-After': '10' }) : status(202)));
    const t = tracker();
    t.track('a');
    await t.flush();
    expect(net.sent).toHaveLength(1);
    t.track('b');
    await t.flush(); // honours Retry-After even when asked to flush
    await vi.advanceTimersByTimeAsync(9_999);
    expect(net.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(net.sent).toHaveLength(2);
    expect(net.sent[1]!.body.batch.map((e) => e.name)).toEqual(['a', 'b']);
    expect(net.sent[1]!.body.batch[0]!.messageId).toBe(net.sent[0]!.body.batch[0]!.messageId);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
  });

  it('backs off exponentially on network errors, then recovers', async () => {
    const net = fakeNetwork();
    let fail = 4;
    net.reply(() => (fail-- > 0 ? new TypeError('Failed to fetch') : status(202)));
    vi.spyOn(Math, 'random').mockReturnValue(1); // no jitter: delays 1, 2, 4, 8 s
    const t = tracker();
    t.track('a');
    await t.flush();
    const times: number[] = [];
    const start = Date.now();
    const orig = net.fetchMock.getMockImplementation()!;
    net.fetchMock.mockImplementation(async (url, init) => {
      times.push(Date.now() - start);
      return orig(url, init);
    });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(times).toEqual([1000, 3000, 7000, 15000]);
    expect(net.sent.filter((s) => s.body.batch.length)).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
  });

  it('retries at once when the browser comes back online', async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('Failed to fetch'));
    const t = tracker();
    t.track('a');
    await t.flush();
    net.reply(() => status(202));
    await vi.advanceTimersByTimeAsync(100); // the first backoff is at least 500 ms
    expect(net.sent).toHaveLength(1);
    window.dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(net.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sent).toHaveLength(2);
  });

  it.each([400, 401, 403, 413, 415])('drops a batch answered %i, and warns in debug mode', async (code) => {
    const net = fakeNetwork();
    net.reply(() => status(code));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = tracker({ debug: true });
    t.track('a');
    await t.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
    expect(warn).toHaveBeenCalledWith('[trackmate]', code, expect.any(Array));
  });

  it.each([408, 429, 500, 502])('retries a batch answered %i', async (code) => {
    const net = fakeNetwork();
    let calls = 0;
    net.reply(() => (calls++ === 0 ? status(code) : status(202)));
    const t = tracker();
    t.track('a');
    await t.flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.sent).toHaveLength(2);
    expect(net.sent[1]!.body.batch[0]!.messageId).toBe(net.sent[0]!.body.batch[0]!.messageId);
  });
});

describe('persistence', () => {
  it('keeps unsent events in localStorage and resends them on the next page load, once', async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('offline'));
    const t = tracker();
    t.track('a');
    t.track('b');
    await t.flush();
    await vi.advanceTimersByTimeAsync(1000); // the mirror is written within a second, off the hot path
    expect(stored(KEY).map((e) => e.name)).toEqual(['a', 'b']);
    const ids = stored(KEY).map((e) => e.messageId);

    net.reply(() => status(202));
    net.sent.length = 0;
    const next = nextPage();
    next.track('c');
    await next.flush(); // the backoff the last page reached still holds: nothing yet
    expect(net.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2000);
    expect(net.names()).toEqual(['a', 'b', 'c']);
    expect(
      net
        .events()
        .slice(0, 2)
        .map((e) => e.messageId),
    ).toEqual(ids);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
    nextPage();
    await vi.advanceTimersByTimeAsync(5000);
    expect(net.names()).toEqual(['a', 'b', 'c']);
  });

  it('bounds the queue, dropping the oldest first with a debug warning', async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('offline'));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = tracker({ maxQueueSize: 3, debug: true });
    for (const n of ['a', 'b', 'c', 'd', 'e']) t.track(n);
    await vi.advanceTimersByTimeAsync(1000);
    expect(stored(KEY).map((e) => e.name)).toEqual(['c', 'd', 'e']);
    expect(warn).toHaveBeenCalledWith('[trackmate]', 'queue full', expect.stringContaining('"name":"a"'));
    net.reply(() => status(202));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sent.at(-1)!.body.batch.map((e) => e.name)).toEqual(['c', 'd', 'e']);
  });

  it("each tab mirrors its own events: one tab's acknowledgement leaves the other's stored", async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('offline'));
    const a = tracker();
    const b = tracker(); // another tab, same origin: adopts nothing yet
    a.track('from_a');
    b.track('from_b');
    await vi.advanceTimersByTimeAsync(1000);
    expect(Object.keys(localStorage).filter((k) => k.startsWith(`tm_q_${KEY}.`))).toHaveLength(2);
    expect(stored(KEY).map((e) => e.name)).toEqual(['from_a', 'from_b']);
    net.reply(() => status(202));
    a.teardown(); // a's retries stop; its events stay stored
    await vi.advanceTimersByTimeAsync(60_000); // b's retry goes through
    expect(net.names()).toEqual(['from_a', 'from_b', 'from_b']);
    expect(stored(KEY).map((e) => e.name)).toEqual(['from_a']);
  });

  it('persists nothing in cookieless mode', async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('offline'));
    const t = tracker({ cookieless: true });
    t.track('a');
    await t.flush();
    expect(localStorage.length).toBe(0);
    expect(document.cookie).toBe('');
  });
});

describe('unload', () => {
  it('beacons the queue as text/plain-able JSON when the tab is hidden, then stores nothing', async () => {
    const net = fakeNetwork();
    const t = tracker({ flushInterval: 60_000 });
    t.track('a');
    t.track('b');
    closeTab();
    expect(net.sent).toHaveLength(1);
    expect(net.sent[0]!.via).toBe('beacon');
    expect(net.sent[0]!.url).toBe('https://c.example/api/track/event?writeKey=pk_test');
    expect(net.sent[0]!.body.batch.map((e) => e.name)).toEqual(['a', 'b']);
    expect(stored(KEY)).toEqual([]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.sent).toHaveLength(1);
  });

  it('beacons what fits the 64 KB keepalive budget of a burst and sends the rest by plain fetch', async () => {
    const net = fakeNetwork();
    const t = tracker({ flushInterval: 60_000, batchSize: 10_000 });
    for (let i = 0; i < 100; i++) t.track('burst', { i, pad: 'x'.repeat(2000) });
    closeTab();
    const beacons = net.sent.filter((s) => s.via === 'beacon');
    const fetches = net.sent.filter((s) => s.via === 'fetch');
    expect(beacons.length).toBeGreaterThan(0);
    expect(beacons.reduce((sum, s) => sum + s.bytes, 0)).toBeLessThanOrEqual(64 * 1024);
    expect(beacons.reduce((sum, s) => sum + s.bytes, 0)).toBeGreaterThan(60 * 1024);
    // A keepalive fetch would be refused by the browser now that the beacons use the quota.
    for (const s of fetches) expect(s.keepalive).toBe(false);
    expect(net.events().map((e) => e.properties!.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Beaconed events are done with; the fetched ones stay stored until their answer comes.
    expect(stored(KEY)).toHaveLength(fetches.reduce((sum, s) => sum + s.body.batch.length, 0));
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
  });

  it('falls back to fetch when the browser refuses a beacon, keeping those events stored until acknowledged', async () => {
    const net = fakeNetwork();
    net.beacon(() => false); // e.g. another script on the page used up the shared quota
    const pending: ((r: Response) => void)[] = [];
    net.reply(() => new Promise((resolve) => pending.push(resolve)));
    const t = tracker({ flushInterval: 60_000, batchSize: 10_000 });
    for (let i = 0; i < 100; i++) t.track('burst', { i, pad: 'x'.repeat(2000) });
    closeTab();
    expect(net.sent.every((s) => s.via === 'fetch')).toBe(true);
    expect(net.sent.map((s) => s.keepalive)).toEqual([true, false]);
    expect(net.events().map((e) => e.properties!.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(stored(KEY)).toHaveLength(100);
    for (const resolve of pending) resolve(status(202));
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
  });

  it('while the collector is failing, keeps beaconed events stored for the next page', async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('offline'));
    const t = tracker();
    t.track('a');
    await t.flush();
    t.track('b');
    closeTab();
    expect(net.sent.at(-1)!.via).toBe('beacon');
    expect(stored(KEY).map((e) => e.name)).toEqual(['a', 'b']); // written at once as the tab hides
    net.reply(() => status(202));
    nextPage();
    await vi.advanceTimersByTimeAsync(2000); // once the backoff the last page reached has passed
    expect(net.sent.at(-1)!.body.batch.map((e) => e.name)).toEqual(['a', 'b']);
    await vi.advanceTimersByTimeAsync(1000); // the mirror is rewritten within a second
    expect(stored(KEY)).toEqual([]);
  });
});
