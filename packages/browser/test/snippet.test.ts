// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeNetwork, showTab } from './helpers.js';

type Global = ((...args: unknown[]) => unknown) & { q?: IArguments[] };
const w = window as unknown as { trackmate?: Global };

/** Runs the script-tag build's entry as if loaded by `<script src=... data-*>`. */
const loadScript = async (attrs: Record<string, string> = {}) => {
  const script = document.createElement('script');
  script.src = 'https://collector.example/sdk.js';
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
