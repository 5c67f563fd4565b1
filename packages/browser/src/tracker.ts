import { EVENT_NAME, MAX_EVENT_BYTES } from '@trackmate/core';
import { bytes } from './core/batch.js';
import { cleanUrl } from './core/url.js';
import { uuid } from './core/uuid.js';
import { createDelivery } from './delivery.js';
import { cookieStore, localStore, memoryStore } from './storage.js';
import type { ClientEvent, ConsentState, Tracker, TrackerOptions } from './types.js';
import { VERSION } from './version.js';

const AID = 'tm_aid';
const SID = 'tm_sid';
const CONSENT = 'tm_consent';

/**
 * Creates a tracker: identity (anonymousId, rotating sessionId), consent, plugins and delivery. Most apps
 * call `init()` instead, which also makes it the default tracker of the free functions.
 */
export const createTracker = (options: TrackerOptions): Tracker => {
  const { writeKey, host = '', plugins = [], requireConsent, cookieless, debug } = options;
  const timeout = options.sessionTimeout || 18e5;
  const warn = (...args: unknown[]) => debug && console.warn('[trackmate]', ...args);
  // Ids prefer localStorage, then a first-party cookie; the queue needs localStorage (cookies are too small).
  const local = cookieless ? undefined : localStore();
  const persistent = cookieless ? memoryStore() : local || cookieStore();
  const memory = memoryStore();
  let state = persistent.get(CONSENT) as ConsentState | null;
  const allowed = () => (state ? state === 'granted' : !requireConsent);
  /** Ids live in memory until storing them is allowed. */
  let ids = allowed() ? persistent : memory;
  const put = (k: string, v: string) => {
    try {
      ids.set(k, v);
    } catch {}
    return v;
  };

  const delivery = createDelivery({
    url: `${host.replace(/\/+$/, '')}/api/track/event?writeKey=${encodeURIComponent(writeKey)}`,
    writeKey,
    store: local,
    key: `tm_q_${writeKey}`,
    batchSize: options.batchSize || 20,
    interval: options.flushInterval ?? 1000,
    max: options.maxQueueSize || 1000,
    allowed,
    debug,
    warn,
  });
  const hide = () => document.visibilityState === 'hidden' && delivery.unload();

  const t: Tracker = {
    options,
    anonymousId: () => ids.get(AID) || put(AID, uuid()),
    sessionId() {
      const now = Date.now();
      const [id, seen] = (ids.get(SID) || '').split('.');
      const fresh = !id || !(now - +seen! <= timeout);
      const sid = fresh ? uuid() : id;
      put(SID, `${sid}.${now}`);
      if (fresh) for (const p of plugins) p.session?.(sid, t);
      return sid;
    },
    keepHash: options.keepHash,
    url: (href) => cleanUrl(href, t.keepHash),
    track(name, properties = {}) {
      if (state === 'denied') return;
      if (!EVENT_NAME.test(name)) return void warn('invalid event name', name);
      let e: ClientEvent | null = {
        messageId: uuid(),
        name,
        timestamp: new Date().toISOString(),
        anonymousId: t.anonymousId(),
        sessionId: t.sessionId(),
        properties,
        context: {
          page: { url: t.url(location.href), title: document.title },
          library: { name: '@trackmate/browser', version: VERSION },
        },
      };
      for (const p of plugins) if (e && p.beforeSend) e = p.beforeSend(e, t);
      if (!e) return;
      let size = Infinity;
      try {
        size = bytes(JSON.stringify(e));
      } catch {} // circular or BigInt properties: never throw into the page
      if (size > MAX_EVENT_BYTES) return void warn('event over 32 KB or not JSON, dropped', e);
      delivery.add(e);
      return e;
    },
    flush: delivery.flush,
    consent(s) {
      state = s;
      try {
        persistent.set(CONSENT, s);
      } catch {}
      if (s === 'granted') {
        if (ids === memory) {
          ids = persistent;
          for (const k of [AID, SID]) {
            const v = memory.get(k);
            if (v) put(k, v);
          }
        }
        delivery.resume();
      } else {
        delivery.clear();
        t.reset();
      }
    },
    reset() {
      ids.del(AID);
      ids.del(SID);
    },
    teardown() {
      removeEventListener('pagehide', delivery.unload);
      removeEventListener('online', delivery.online);
      document.removeEventListener('visibilitychange', hide);
      delivery.stop();
      for (const p of plugins) p.teardown?.();
    },
  };

  addEventListener('pagehide', delivery.unload);
  addEventListener('online', delivery.online);
  document.addEventListener('visibilitychange', hide);
  for (const p of plugins) p.setup?.(t);
  return t;
};
