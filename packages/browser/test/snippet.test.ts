// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeTab, fakeNetwork, showTab } from './helpers.js';

type Global = ((...args: unknown[]) => unknown) & { q?: IArguments[] };
const w = window as unknown as { trackmate?: Global };

/** Runs the script-tag build's entry as if loaded by `<script src=... data-*>`. */
const loadScript = async (attrs: Record<string, string> = {}, src = 'https://collector.example/sdk.js') => {
  const script = document.createElement('script');
  script.src = src;
  for (const [k, v] of Object.entries(attrs)) script.setAttribute(k, v);
  document.head.append(script);
  Object.defineProperty(document, 'currentScript', { configurable: true, value: script });
  vi.resetModules();
  await import('../src/iife.js');
  Object.defineProperty(document, 'currentScript', { configurable: true, value: null });
};

/** The stub of the README's snippet, verbatim. */
const snippet = () => {
  w.trackmate =
    w.trackmate ||
    (function () {
      // biome-ignore lint/suspicious/noAssignInExpressions: the snippet's own wording
      // biome-ignore lint/complexity/noArguments: the stub queues the call's arguments as they are
      (w.trackmate!.q = w.trackmate!.q || []).push(arguments);
    } as Global);
};

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  showTab();
  delete w.trackmate;
  document.title = 'Demo';
});
afterEach(async () => {
  w.trackmate?.('consent', 'denied'); // stops the default tracker from sending in later tests
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('script-tag contract', () => {
  it('one tag: initialises from data-write-key, sends to the origin that served the script, auto-captures', async () => {
    const net = fakeNetwork();
    await loadScript({ 'data-write-key': 'pk_tag' });
    await w.trackmate!('flush');
    expect(net.sent[0]!.url).toBe('https://collector.example/api/track/event?writeKey=pk_tag');
    expect(net.names()).toEqual(['active_site', 'page_view']);
    expect(net.sent[0]!.body.writeKey).toBeUndefined(); // the key is in the URL: not repeated in every body
  });

  it('snippet: replays calls queued before the script loaded, in order, with the given host', async () => {
    const net = fakeNetwork();
    snippet();
    w.trackmate!('init', { writeKey: 'pk_snip', host: 'https://other.example', autocapture: false });
    w.trackmate!('track', 'newsletter_open', { issue: 42 });
    w.trackmate!('identify', 'ada@example.com', { firstName: 'Ada' });
    expect(w.trackmate!.q).toHaveLength(3);
    await loadScript();
    w.trackmate!('addToCart', 'sku-1', 1, 5);
    await w.trackmate!('flush');
    expect(net.sent[0]!.url).toBe('https://other.example/api/track/event?writeKey=pk_snip');
    expect(net.events().map((e) => [e.name, e.properties])).toEqual([
      ['newsletter_open', { issue: 42 }],
      ['identify', { firstName: 'Ada', email: 'ada@example.com' }],
      ['add_to_cart', { productId: 'sku-1', quantity: 1, price: 5 }],
    ]);
  });

  it('snippet without host: events go to the origin that served sdk.js', async () => {
    const net = fakeNetwork();
    snippet();
    w.trackmate!('init', { writeKey: 'pk_snip' });
    w.trackmate!('consent', 'granted');
    await loadScript();
    await w.trackmate!('flush');
    expect(net.sent[0]!.url).toBe('https://collector.example/api/track/event?writeKey=pk_snip');
    expect(net.names()).toEqual(['active_site', 'page_view']);
  });

  it('calls queued before init wait for it; data-require-consent holds events until granted', async () => {
    const net = fakeNetwork();
    snippet();
    w.trackmate!('track', 'before_init');
    await loadScript({ 'data-write-key': 'pk_c', 'data-require-consent': '' });
    w.trackmate!('track', 'after_init');
    await vi.advanceTimersByTimeAsync(5000);
    expect(net.sent).toHaveLength(0);
    w.trackmate!('consent', 'granted');
    await w.trackmate!('flush');
    expect(net.names()).toEqual(['active_site', 'page_view', 'before_init', 'after_init']);
  });

  it('warns about an unknown method instead of throwing into the page', async () => {
    fakeNetwork();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await loadScript({ 'data-write-key': 'pk_x' });
    expect(() => w.trackmate!('trak', 'x')).not.toThrow();
    expect(warn).toHaveBeenCalledWith('[trackmate] unknown method', 'trak');
  });
});

describe('script-tag attributes and the global', () => {
  it('data-require-consent="false" (and the other flags) read as false', async () => {
    const net = fakeNetwork();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await loadScript({ 'data-write-key': 'pk_f', 'data-require-consent': 'false', 'data-debug': 'false' });
    await w.trackmate!('flush');
    expect(net.names()).toEqual(['active_site', 'page_view']);
    expect(log).not.toHaveBeenCalled();
  });

  it('loaded from a CDN without data-host, posts nowhere and says so in debug mode', async () => {
    const net = fakeNetwork();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const cdn = 'https://cdn.jsdelivr.net/npm/@trackmate/browser/dist/trackmate.min.js';
    await loadScript({ 'data-write-key': 'pk_cdn', 'data-debug': '' }, cdn);
    w.trackmate!('track', 'lost');
    await vi.advanceTimersByTimeAsync(5000);
    closeTab();
    expect(net.sent).toEqual([]);
    expect(warn).toHaveBeenCalledWith('[trackmate] no host given: not sending events to', 'https://cdn.jsdelivr.net');
  });

  it('loaded from a CDN with data-host, posts to that host', async () => {
    const net = fakeNetwork();
    const cdn = 'https://unpkg.com/@trackmate/browser/dist/trackmate.min.js';
    await loadScript({ 'data-write-key': 'pk_cdn', 'data-host': 'https://collector.example' }, cdn);
    await w.trackmate!('flush');
    expect(net.sent[0]!.url).toBe('https://collector.example/api/track/event?writeKey=pk_cdn');
  });

  it('the global answers anonymousId and getConsent, and register adds super-properties', async () => {
    const net = fakeNetwork();
    await loadScript({ 'data-write-key': 'pk_g' });
    expect(w.trackmate!('anonymousId')).toBe(localStorage.getItem('tm_aid'));
    expect(w.trackmate!('getConsent')).toBeUndefined();
    w.trackmate!('register', { plan: 'pro' });
    w.trackmate!('track', 'upgrade', { seats: 3 });
    w.trackmate!('consent', 'granted');
    expect(w.trackmate!('getConsent')).toBe('granted');
    await w.trackmate!('flush');
    expect(net.events().at(-1)!.properties).toEqual({ plan: 'pro', seats: 3 });
  });
});

describe('loading the script twice', () => {
  it('keeps the first copy: no second tracker, no repeated page_view', async () => {
    const net = fakeNetwork();
    await loadScript({ 'data-write-key': 'pk_once' });
    const first = w.trackmate;
    await loadScript({ 'data-write-key': 'pk_once' });
    expect(w.trackmate).toBe(first);
    await w.trackmate!('flush');
    expect(net.names()).toEqual(['active_site', 'page_view']);
  });
});
