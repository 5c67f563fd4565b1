import {
  BACKOFF_BASE,
  BACKOFF_MAX,
  backoffDelay,
  isRetryableStatus,
  KEEPALIVE_BUDGET_BYTES,
  MAX_REQUEST_BYTES,
} from '@trackmate/core';
import type { Store } from './storage.js';
import type { TrackerOptions } from './types.js';
import { body, bytes, take } from './util/request-body.js';
import { uuid } from './util/uuid.js';

/** Events older than this (7 days) are not retried any more. */
const MAX_AGE = 6048e5;

export interface Delivery {
  /** Queues one serialised event. */
  add(event: string): void;
  /** Sends everything queued unless a retry is pending (Retry-After is honoured even for manual flushes). */
  flush(): Promise<void>;
  /** Consent granted: store and send what was held back. */
  resume(): void;
  /** Consent denied: forget every unsent event, stored and in-flight ones too. */
  clear(): void;
  /** Removes listeners and timers; what is unsent stays stored. */
  stop(): void;
}

/**
 * The unsent queue and its way to the collector: batches, keepalive fetches within the 64 KB budget, beacons
 * when the page is hidden or left (it listens to the page's lifecycle itself), retries with backoff, and a localStorage mirror of every event not yet acknowledged so that the
 * next page load resends what this one could not.
 *
 * The queue holds serialised events, so `track()` costs one JSON.stringify and the mirror is written by
 * joining strings, batched off the hot path (and at once when the page is hidden). Each tab mirrors into its
 * own key, `tm_q_<writeKey>.<tab>`, and holds a Web Lock of that name while it lives: a page load adopts only
 * the keys of tabs that are gone (under a second lock, so two loads never adopt the same key), never the events
 * another live tab has queued or in flight. Delivery is at-least-once; the collector drops repeated messageIds.
 */
export const createDelivery = (
  /** `…/api/track/event?writeKey=…` (the query carries the key for beacons, which cannot set headers). */
  url: string,
  o: TrackerOptions,
  /** Where unsent events survive the page (localStorage); without it they live in memory only. */
  store: Store | undefined,
  /** False while consent is pending or denied: nothing is sent or stored then. */
  allowed: () => boolean,
  /** Reports dropped and rejected events (debug mode). */
  warn: (...args: unknown[]) => unknown,
  /** The page's `storage` events (another tab's writes), listened to with the rest of the page's lifecycle. */
  onStorage: (e: StorageEvent) => unknown,
): Delivery => {
  const { writeKey, batchSize = 20, flushInterval = 1000, maxQueueSize = 1000 } = o;
  const key = `tm_q_${writeKey}`;
  /** This site's mirrors (keys `tm_q_<writeKey>.<tab>`, and `tm_q_<writeKey>` of SDK versions before 0.2). */
  const ours = (k: string) => `${k}.`.startsWith(`${key}.`);
  const mine = `${key}.${uuid()}`;
  const back = `tm_b_${writeKey}`;
  const locks = navigator.locks;
  /**
   * Not too old to send: an event this SDK serialised starts with {"timestamp":"<24 characters>" (one whose
   * time cannot be read so is kept; the collector judges it).
   */
  const fresh = (s: string) => !(Date.now() - Date.parse(s.slice(14, 38)) > MAX_AGE);
  /** Waiting to be sent, oldest first. */
  let queue: string[] = [];
  /** Batches sent and not yet answered. */
  const out = new Set<string[]>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let saving: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let release: (() => void) | undefined;
  let started: unknown;
  /** This page was left (pagehide) and has not been shown again. */
  let left: unknown;
  /** Bytes of our keepalive fetches still in flight. */
  let inflight = 0;
  /** Consecutive failed requests (0: the collector answered the last one) and when the next may go. */
  let [attempt = 0, blockedUntil = 0] = (store?.get(back) || '').split('.').map((x) => +x || 0);

  /** Writes the mirror now: the events in flight and queued, or no key when there are none. */
  const write = () => {
    clearTimeout(saving);
    saving = undefined;
    if (!store || !allowed()) return;
    const all = [...out].flat().concat(queue);
    while (all.length && !store.set(mine, `[${all}]`)) {
      warn('not stored', all.splice(0, (all.length >> 1) + 1));
    }
    if (!all.length) store.del(mine);
  };
  const save = () => {
    saving ||= setTimeout(write, 1000);
  };

  const read = (k: string): string[] => {
    try {
      return JSON.parse(store!.get(k)!).map((e: unknown) => JSON.stringify(e));
    } catch {
      return []; // not ours, or corrupt
    }
  };

  /** Takes over the mirrors of tabs that are gone (`held`: the keys whose tab still holds its lock). */
  const adopt = (held: (string | undefined)[]) => {
    const keys = store!.keys!().filter((k) => ours(k) && k !== mine && !held.includes(k));
    for (const k of keys) queue = read(k).concat(queue);
    write();
    for (const k of keys) store!.del(k);
    schedule();
  };

  const lock = () => locks.request(mine, () => new Promise<void>((r) => (release = r))).catch(warn);

  const start = () => {
    if (started || !store || !allowed()) return;
    started = 1;
    if (!locks) return adopt([]);
    lock();
    locks.request(key, () => locks.query().then((s) => adopt(s.held!.map((l) => l.name)))).catch(warn);
  };

  /** A timer ran out: the flush interval, or the backoff (whose end this is). */
  const tick = () => {
    timer = undefined;
    blockedUntil = 0;
    send();
  };
  /** Allowed to send now: consent, and no backoff or Retry-After pending (manual flushes honour it too). */
  const ready = () => allowed() && Date.now() >= blockedUntil;

  /** Records the answer to a batch: acknowledged (retry undefined) or to be retried after a delay. */
  const settle = (batch: string[], retry: number | undefined) => {
    // A consent denial forgot this batch while it was in flight: nothing of it comes back.
    if (!out.delete(batch)) return;
    save();
    if (retry === undefined) {
      attempt = 0;
      store?.del(back);
      return;
    }
    queue = batch.concat(queue);
    // Retry-After is a floor; the added second of jitter keeps a fleet of pages from returning in step.
    const delay = retry < 0 ? backoffDelay(++attempt, BACKOFF_BASE, BACKOFF_MAX) : retry + Math.random() * 1000;
    blockedUntil = Date.now() + delay;
    store?.set(back, `${attempt}.${blockedUntil}`);
    clearTimeout(timer);
    timer = setTimeout(tick, delay);
  };

  /**
   * POSTs a batch, with keepalive when allowed and within the budget; resolves to undefined when done with
   * it, else to the retry delay (-1: use backoff). Statuses other than 408, 429 and 5xx are final.
   */
  const post = (batch: string[], keep: boolean): Promise<number | undefined> => {
    out.add(batch);
    const b = body(batch);
    const n = bytes(b);
    const keepalive = keep && inflight + n <= KEEPALIVE_BUDGET_BYTES;
    if (keepalive) inflight += n;
    // A string body is sent as text/plain: a "simple" request, so no CORS pre-flight.
    return fetch(url, { method: 'POST', body: b, keepalive })
      .then(
        (r) => {
          // Retry-After in seconds (the collector's form); absent, 0 or an HTTP date: our own backoff.
          if (isRetryableStatus(r.status)) return +r.headers.get('Retry-After')! * 1000 || -1;
          if (r.status > 299) warn(r.status, batch);
          // debug mode: the answer, { accepted, rejected: [{ index, errors }] }
          else if (o.debug) r.json().then(warn, warn);
          return undefined;
        },
        () => -1,
      )
      .finally(() => {
        if (keepalive) inflight -= n;
      });
  };

  /** Drops events too old to retry any longer. */
  const expire = () => {
    queue = queue.filter(fresh);
  };

  /**
   * One send loop at a time; a call while it runs joins it. It looks at the queue only after a microtask and
   * clears `running` in the same step as its last look, so what is queued meanwhile is never left behind.
   */
  const send = (): Promise<void> =>
    (running ||= (async () => {
      try {
        await 0;
        expire();
        while (queue.length && ready()) {
          const batch = take(queue, MAX_REQUEST_BYTES);
          settle(batch, await post(batch, true));
        }
      } finally {
        running = undefined;
      }
    })());

  const schedule = () => {
    if (!ready()) return;
    if (queue.length >= batchSize) send();
    else timer ||= setTimeout(tick, flushInterval);
  };

  /** The page is being hidden (or, `leaving`, unloaded): beacons, in chunks that fit the keepalive budget. */
  const unload = (leaving?: unknown) => {
    if (!allowed()) return;
    expire();
    // While the collector is failing, a beacon's fate is unknown: its events stay queued (and stored), and
    // this tab retries them at the end of the backoff if it lives on.
    let kept: string[] = [];
    // Beacons and keepalive fetches share one 64 KB in-flight quota (Chromium refuses what exceeds it), so
    // beacon only what fits in what our keepalive fetches leave; the rest goes by plain fetch, which
    // finishes if the page survives (hidden, not closed) and otherwise leaves the events stored.
    let room = KEEPALIVE_BUDGET_BYTES - inflight;
    while (queue.length) {
      const batch = take(queue, room > 0 ? room : MAX_REQUEST_BYTES);
      const b = body(batch);
      const n = bytes(b);
      if (n <= room && navigator.sendBeacon?.(url, b)) {
        room -= n;
        if (attempt) kept = kept.concat(batch);
      } else {
        post(batch, n <= room).then((r) => settle(batch, r));
        room = 0;
      }
    }
    queue = kept;
    write();
    // Leaving (or entering the back/forward cache): other tabs may take over what is stored from now on.
    if (leaving && started) {
      left = 1;
      release?.();
    }
  };

  const listeners: [EventTarget, string, (e: never) => unknown][] = [
    [window, 'storage', onStorage],
    [window, 'pagehide', unload],
    [document, 'visibilitychange', () => document.visibilityState === 'hidden' && unload()],
    [
      window,
      'pageshow',
      (e: PageTransitionEvent) => {
        // While this page sat in the back/forward cache, another tab may have adopted its stored events.
        if (e.persisted && left) {
          left = 0;
          if (!store!.get(mine)) queue = [];
          if (locks) lock();
        }
      },
    ],
    [
      window,
      'online',
      () => {
        // Back online: retry now rather than at the end of the backoff.
        if (attempt) {
          clearTimeout(timer);
          tick();
        }
      },
    ],
  ];
  for (const [target, type, fn] of listeners) target.addEventListener(type, fn as EventListener);
  if (blockedUntil > Date.now()) timer = setTimeout(tick, blockedUntil - Date.now());
  start();

  return {
    add(e) {
      if (queue.length >= maxQueueSize) warn('queue full', queue.shift());
      queue.push(e);
      save();
      schedule();
    },
    flush: send,
    resume() {
      start();
      write();
      send();
    },
    clear() {
      queue = [];
      out.clear();
      if (store) for (const k of store.keys!()) if (ours(k)) store.del(k);
    },
    stop() {
      for (const [target, type, fn] of listeners) target.removeEventListener(type, fn as EventListener);
      clearTimeout(timer);
      write();
      release?.();
    },
  };
};
