import { vi } from 'vitest';
import type { ClientEvent } from '../src/types.js';

export interface Sent {
  via: 'fetch' | 'beacon';
  url: string;
  body: { writeKey?: string; sentAt: string; batch: ClientEvent[] };
  bytes: number;
  keepalive: boolean;
}

type Reply = Response | Error | Promise<Response>;

/**
 * A fake network for jsdom: records every fetch and beacon with its parsed body, and answers with what the
 * test says (default: 202 accepting everything). Beacons are accepted unless `beacon` says otherwise.
 */
export const fakeNetwork = () => {
  const sent: Sent[] = [];
  let reply: (s: Sent) => Reply = (s) => accepted(s.body.batch.length);
  let beacon: (s: Sent) => boolean = () => true;
  const record = (via: Sent['via'], url: string, data: string, keepalive = false): Sent => ({
    via,
    url,
    body: JSON.parse(data),
    bytes: new TextEncoder().encode(data).length,
    keepalive,
  });
  const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
    const s = record('fetch', url, init.body as string, init.keepalive);
    sent.push(s);
    const r = await reply(s);
    if (r instanceof Error) throw r;
    return r;
  });
  vi.stubGlobal('fetch', fetchMock);
  Object.defineProperty(navigator, 'sendBeacon', {
    configurable: true,
    value: vi.fn((url: string, data: string) => {
      const s = record('beacon', url, data);
      if (!beacon(s)) return false;
      sent.push(s);
      return true;
    }),
  });
  return {
    sent,
    fetchMock,
    /** Every event that reached the collector, in order. */
    events: () => sent.flatMap((s) => s.body.batch),
    names: () => sent.flatMap((s) => s.body.batch.map((e) => e.name)),
    reply: (fn: (s: Sent) => Reply) => {
      reply = fn;
    },
    beacon: (fn: (s: Sent) => boolean) => {
      beacon = fn;
    },
  };
};

export const accepted = (n: number) =>
  new Response(JSON.stringify({ accepted: n, rejected: [] }), {
    status: 202,
    headers: { 'content-type': 'application/json' },
  });

export const status = (code: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ statusCode: code }), { status: code, headers });

/** Fires what a browser fires when the tab is closed. */
export const closeTab = () => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'hidden' });
  document.dispatchEvent(new Event('visibilitychange'));
  window.dispatchEvent(new Event('pagehide'));
};

export const showTab = () => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'visible' });
};

/** Every event a site's tabs hold in localStorage (each tab mirrors into `tm_q_<writeKey>.<tab>`). */
export const stored = (writeKey: string): ClientEvent[] =>
  Object.keys(localStorage)
    .filter((k) => k.startsWith(`tm_q_${writeKey}.`) || k === `tm_q_${writeKey}`)
    .flatMap((k) => JSON.parse(localStorage.getItem(k)!) as ClientEvent[])
    .sort((a, b) => a.timestamp.localeCompare(b.timestamp));
