import {
  BACKOFF_BASE,
  BACKOFF_MAX,
  backoffDelay,
  isRetryableStatus,
  KEEPALIVE_BUDGET_BYTES,
  MAX_REQUEST_BYTES,
  parseRetryAfter,
} from '@trackmate/core';
import { body, bytes, take } from './core/batch.js';
import type { Store } from './storage.js';
import type { ClientEvent } from './types.js';

export interface DeliveryOptions {
  /** `…/api/track/event?writeKey=…` (the query carries the key for beacons, which cannot set headers). */
  url: string;
  writeKey: string;
  /** Where unsent events survive the page (localStorage); without it they live in memory only. */
  store: Store | undefined;
  key: string;
  batchSize: number;
  interval: number;
  max: number;
  /** False while consent is pending or denied: nothing is sent or stored then. */
  allowed: () => boolean;
  /** Report dropped and rejected events (debug mode). */
  debug: boolean | undefined;
  warn: (...args: unknown[]) => void;
}

export interface Delivery {
  add(event: ClientEvent): void;
  /** Sends everything queued unless a retry is pending (Retry-After is honoured even for manual flushes). */
  flush(): Promise<void>;
  /** The page is being hidden or unloaded: beacons, in chunks that fit the keepalive budget. */
  unload(): void;
  /** The browser is back online: retry now rather than at the end of the backoff. */
  online(): void;
  /** Consent granted: store and send what was held back. */
  resume(): void;
  /** Consent denied: forget every unsent event, stored ones too. */
  clear(): void;
  stop(): void;
}

/**
 * The unsent queue and its way to the collector: batches, keepalive fetches within the 64 KB budget, beacons
 * at unload, retries with backoff, and a localStorage mirror of every event not yet acknowledged so that the
 * next page load resends what this one could not.
 *
 * Delivery is at-least-once; the collector drops repeated messageIds. The stored mirror is shared by the
 * origin's tabs: each tab rewrites it as "other tabs' events + its own unacknowledged ones".
 */
export const createDelivery = (o: DeliveryOptions): Delivery => {
  const { url, writeKey, store, key, warn } = o;
  /** Waiting to be sent, oldest first. */
  let queue: ClientEvent[] = [];
  /** Every event of this tab not yet acknowledged (queued, in flight, or beaconed while failing). */
  const unacked = new Map<string, ClientEvent>();
  /** Message ids this tab has taken responsibility for; the rest of the stored mirror belongs to other tabs. */
  const owned = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  /** Consecutive failed requests; 0 means the collector answered the last one. */
  let attempt = 0;
  let blockedUntil = 0;
  /** Bytes of our keepalive fetches still in flight. */
  let inflight = 0;

  const read = (): ClientEvent[] => {
    try {
      const stored = JSON.parse(store?.get(key) || '[]');
      return Array.isArray(stored) ? stored : [];
    } catch {
      return [];
    }
  };

  const persist = () => {
    if (!store || !o.allowed()) return;
    const all = read()
      .filter((e) => !owned.has(e.messageId))
      .concat([...unacked.values()])
      .slice(-o.max);
    for (;;) {
      try {
        return all.length ? store.set(key, JSON.stringify(all)) : store.del(key);
      } catch {
        warn('storage full, not persisted:', all.splice(0, (all.length >> 1) + 1));
      }
    }
  };

  const ack = (batch: ClientEvent[]) => {
    for (const e of batch) unacked.delete(e.messageId);
    persist();
  };

  const tick = () => {
    timer = undefined;
    send();
  };

  /** Records the outcome of a request: acknowledged (retry undefined) or to be retried after a delay. */
  const settle = (batch: ClientEvent[], retry: number | undefined) => {
    if (retry === undefined) {
      attempt = 0;
      return ack(batch);
    }
    queue = batch.concat(queue);
    attempt++;
    // Retry-After is a floor; the added second of jitter keeps a fleet of pages from returning in step.
    const delay = retry < 0 ? backoffDelay(attempt, BACKOFF_BASE, BACKOFF_MAX) : retry + Math.random() * 1000;
    blockedUntil = Date.now() + delay;
    clearTimeout(timer);
    timer = setTimeout(tick, delay);
    return true;
  };

  /**
   * POSTs a batch, with keepalive when allowed and within the budget; resolves to undefined when done with
   * it, else to the retry delay (-1: use backoff).
   */
  const post = (batch: ClientEvent[], keep: boolean): Promise<number | undefined> => {
    const b = body(writeKey, batch);
    const n = bytes(b);
    const keepalive = keep && inflight + n <= KEEPALIVE_BUDGET_BYTES;
    if (keepalive) inflight += n;
    // A string body is sent as text/plain: a "simple" request, so no CORS pre-flight.
    return fetch(url, { method: 'POST', body: b, keepalive })
      .then(
        (r) => {
          if (isRetryableStatus(r.status)) return parseRetryAfter(r.headers.get('Retry-After')) ?? -1;
          if (r.status > 299) warn('dropped on', r.status, batch);
          else if (o.debug) r.json().then((j) => j.rejected?.length && warn('rejected', j.rejected), warn);
          return undefined;
        },
        () => -1,
      )
      .finally(() => {
        if (keepalive) inflight -= n;
      });
  };

  const send = (): Promise<void> =>
    (running ||= (async () => {
      while (queue.length && o.allowed()) {
        const batch = take(queue, MAX_REQUEST_BYTES);
        if (settle(batch, await post(batch, true))) break;
      }
    })().finally(() => {
      running = undefined;
    }));

  const schedule = () => {
    if (!o.allowed() || Date.now() < blockedUntil) return;
    if (queue.length >= o.batchSize) send();
    else timer ||= setTimeout(tick, o.interval);
  };

  for (const e of read()) {
    owned.add(e.messageId);
    unacked.set(e.messageId, e);
    queue.push(e);
  }
  if (queue.length) schedule();

  return {
    add(e) {
      if (unacked.size >= o.max) {
        const [old] = unacked.values() as unknown as [ClientEvent];
        unacked.delete(old.messageId);
        queue = queue.filter((x) => x !== old);
        warn('queue full, dropped', old);
      }
      owned.add(e.messageId);
      unacked.set(e.messageId, e);
      queue.push(e);
      persist();
      schedule();
    },
    flush: () => (Date.now() < blockedUntil ? Promise.resolve() : send()),
    unload() {
      if (!o.allowed()) return;
      // While the collector is failing, a beacon's fate is unknown: keep its events stored for the next page.
      const trusted = !attempt;
      // Beacons and keepalive fetches share one 64 KB in-flight quota (Chromium refuses what exceeds it), so
      // beacon only what fits in what our keepalive fetches leave; the rest goes by plain fetch, which
      // finishes if the page survives (hidden, not closed) and otherwise leaves the events stored.
      let room = KEEPALIVE_BUDGET_BYTES - inflight;
      while (queue.length) {
        const batch = take(queue, room > 0 ? room : MAX_REQUEST_BYTES);
        const b = body(writeKey, batch);
        const n = bytes(b);
        if (n <= room && navigator.sendBeacon?.(url, b)) {
          room -= n;
          if (trusted) ack(batch);
        } else {
          post(batch, n <= room).then((r) => settle(batch, r));
          room = 0;
        }
      }
    },
    online() {
      if (attempt) {
        blockedUntil = 0;
        clearTimeout(timer);
        tick();
      }
    },
    resume() {
      persist();
      send();
    },
    clear() {
      queue = [];
      unacked.clear();
      store?.del(key);
    },
    stop: () => clearTimeout(timer),
  };
};
