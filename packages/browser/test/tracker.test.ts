// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cookieStore } from '../src/cookie-store.js';
import { addToCart, consent, flush, identify, init, orderProduct, page, reset, track } from '../src/index.js';
import { createTracker } from '../src/tracker.js';
import type { Tracker, TrackerOptions } from '../src/types.js';
import { closeTab, fakeNetwork, showTab, stored } from './helpers.js';

const KEY = 'pk_test';
const trackers: Tracker[] = [];
const tracker = (o: Partial<TrackerOptions> = {}) => {
  const t = createTracker({ writeKey: KEY, host: 'https://c.example', ...o });
  trackers.push(t);
  return t;
};
const clearCookies = () => {
  for (const c of document.cookie.split('; ')) {
    // biome-ignore lint/suspicious/noDocumentCookie: jsdom has no Cookie Store API
    if (c) document.cookie = `${c.split('=')[0]}=;path=/;max-age=0`;
  }
};

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  clearCookies();
  showTab();
});
afterEach(() => {
  for (const t of trackers.splice(0)) t.teardown();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('identity', () => {
  it('keeps the anonymousId in localStorage across page loads', () => {
    fakeNetwork();
    const first = tracker().track('a')!;
    for (const t of trackers.splice(0)) t.teardown();
    const second = tracker().track('b')!;
    expect(first.anonymousId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.anonymousId).toBe(first.anonymousId);
    expect(localStorage.getItem('tm_aid')).toBe(first.anonymousId);
  });

  it('falls back to first-party cookies (storage: cookieStore()) when localStorage is unusable', () => {
    fakeNetwork();
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    const first = tracker({ storage: cookieStore() }).track('a')!;
    expect(document.cookie).toContain(`tm_aid=${first.anonymousId}`);
    const second = tracker({ storage: cookieStore() }).track('b')!;
    expect(second.anonymousId).toBe(first.anonymousId);
  });

  it('keeps ids in memory when localStorage is unusable and no storage is given', () => {
    fakeNetwork();
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    const first = tracker().track('a')!;
    expect(tracker().track('b')!.anonymousId).not.toBe(first.anonymousId);
    expect(document.cookie).toBe('');
  });

  it('keeps ids in memory only in cookieless mode', () => {
    fakeNetwork();
    const first = tracker({ cookieless: true }).track('a')!;
    const second = tracker({ cookieless: true }).track('b')!;
    expect(second.anonymousId).not.toBe(first.anonymousId);
    expect(localStorage.length).toBe(0);
    expect(document.cookie).toBe('');
  });

  it('keeps the session while active and starts a new one after 30 idle minutes', () => {
    fakeNetwork();
    const t = tracker();
    const s1 = t.track('a')!.sessionId;
    vi.advanceTimersByTime(29 * 60_000);
    expect(t.track('b')!.sessionId).toBe(s1);
    vi.advanceTimersByTime(29 * 60_000); // 58 minutes after the first event, 29 after the last
    expect(t.track('c')!.sessionId).toBe(s1);
    vi.advanceTimersByTime(30 * 60_000 + 1);
    const s2 = t.track('d')!.sessionId;
    expect(s2).not.toBe(s1);
    expect(t.track('e')!.anonymousId).toBe(t.track('f')!.anonymousId);
  });

  it('reset() forgets the visitor: new anonymousId and session', () => {
    fakeNetwork();
    const t = tracker();
    const before = t.track('a')!;
    t.reset();
    const after = t.track('b')!;
    expect(after.anonymousId).not.toBe(before.anonymousId);
    expect(after.sessionId).not.toBe(before.sessionId);
  });
});

describe('validation', () => {
  it('drops events with invalid names or above 32 KB, warning in debug mode', async () => {
    const net = fakeNetwork();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = tracker({ debug: true });
    expect(t.track('Bad-Name')).toBeUndefined();
    expect(t.track('huge', { pad: 'x'.repeat(33 * 1024) })).toBeUndefined();
    t.track('fine');
    await t.flush();
    expect(net.names()).toEqual(['fine']);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('never throws into the page: unserializable properties and a corrupt stored queue are dropped', async () => {
    const net = fakeNetwork();
    localStorage.setItem(`tm_q_${KEY}`, '{"not":"a list"}');
    const t = tracker();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => t.track('circular', circular)).not.toThrow();
    expect(() => t.track('big_int', { n: 10n })).not.toThrow();
    t.track('fine');
    await t.flush();
    expect(net.names()).toEqual(['fine']);
  });

  it('lets a plugin rewrite or drop events in beforeSend', async () => {
    const net = fakeNetwork();
    const t = tracker({
      plugins: [
        { beforeSend: (e) => (e.name === 'secret' ? null : { ...e, properties: { ...e.properties, tag: 1 } }) },
      ],
    });
    t.track('secret');
    t.track('public');
    await t.flush();
    expect(net.events().map((e) => [e.name, e.properties])).toEqual([['public', { tag: 1 }]]);
  });
});

describe('consent', () => {
  it('sends and stores nothing before consent, then everything captured once granted', async () => {
    const net = fakeNetwork();
    const t = tracker({ requireConsent: true });
    t.track('a');
    t.track('b');
    await vi.advanceTimersByTimeAsync(10_000);
    closeTab();
    showTab();
    expect(net.sent).toHaveLength(0);
    expect(localStorage.length).toBe(0);
    expect(document.cookie).toBe('');
    t.consent('granted');
    await t.flush();
    expect(net.names()).toEqual(['a', 'b']);
    expect(localStorage.getItem('tm_aid')).toBe(net.events()[0]!.anonymousId);
    expect(localStorage.getItem('tm_consent')).toBe('granted');
  });

  it('remembers a grant on the next page', async () => {
    const net = fakeNetwork();
    tracker({ requireConsent: true }).consent('granted');
    const next = tracker({ requireConsent: true });
    next.track('a');
    await next.flush();
    expect(net.names()).toEqual(['a']);
  });

  it('denied drops queued events and ids, and captures nothing afterwards', async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('offline'));
    const t = tracker();
    t.track('a');
    await t.flush();
    await vi.advanceTimersByTimeAsync(1000);
    expect(stored(KEY)).toHaveLength(1);
    t.consent('denied');
    expect(stored(KEY)).toEqual([]);
    expect(localStorage.getItem('tm_aid')).toBeNull();
    expect(t.track('b')).toBeUndefined();
    net.reply(() => new Response('{}', { status: 202 }));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.sent.filter((s) => s.body.batch.some((e) => e.name === 'b'))).toHaveLength(0);
    expect(localStorage.getItem('tm_consent')).toBe('denied');
    expect(tracker().track('c')).toBeUndefined();
  });
});

describe('free-function API', () => {
  it('maps each manual method to its standard event', async () => {
    const net = fakeNetwork();
    const t = init({ writeKey: KEY, host: 'https://c.example' });
    trackers.push(t);
    document.title = 'Shop';
    track('newsletter_open', { issue: 42 });
    page();
    identify('ada@example.com', { firstName: 'Ada', phone: '+441234567890', consent: true });
    addToCart('sku-1', 2, 9.5);
    orderProduct('o-1', [{ productId: 'sku-1', amount: 19, tax: 1.5, discount: 0 }]);
    await flush();
    expect(net.events().map((e) => [e.name, e.properties])).toEqual([
      ['newsletter_open', { issue: 42 }],
      ['page_view', { url: location.href, referrer: document.referrer, title: 'Shop' }],
      ['identify', { email: 'ada@example.com', firstName: 'Ada', phone: '+441234567890', consent: true }],
      ['add_to_cart', { productId: 'sku-1', quantity: 2, price: 9.5 }],
      ['order_product', { orderId: 'o-1', items: [{ productId: 'sku-1', amount: 19, tax: 1.5, discount: 0 }] }],
    ]);
  });

  it('keeps calls made before init and replays them in order', async () => {
    const net = fakeNetwork();
    // A fresh module instance, so no earlier test's default tracker exists.
    vi.resetModules();
    const api = await import('../src/api.js');
    api.track('early_one');
    api.consent('granted');
    api.track('early_two');
    const t = api.init({ writeKey: KEY, host: 'https://c.example', requireConsent: true });
    trackers.push(t);
    await api.flush();
    expect(net.names()).toEqual(['early_one', 'early_two']);
  });

  it('reset() and consent() act on the default tracker', () => {
    fakeNetwork();
    const t = init({ writeKey: KEY, host: 'https://c.example' });
    trackers.push(t);
    const a = track('x')!.anonymousId;
    reset();
    expect(track('y')!.anonymousId).not.toBe(a);
    consent('denied');
    expect(track('z')).toBeUndefined();
  });
});
