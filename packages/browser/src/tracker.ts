import { EVENT_NAME, MAX_EVENT_BYTES } from '@trackmate/core';
import { createDelivery } from './delivery.js';
import { localStore, memoryStore, type Store } from './storage.js';
import type { ClientEvent, ConsentState, Plugin, Properties, Tracker, TrackerOptions } from './types.js';
import { bytes } from './util/request-body.js';
import { uuid } from './util/uuid.js';
import { VERSION } from './version.js';

const AID = 'tm_aid';
const SID = 'tm_sid';
const CONSENT = 'tm_consent';

/**
 * Creates a tracker: identity (anonymousId, rotating sessionId), consent, plugins and delivery. Most apps
 * call `init()` instead, which also makes it the default tracker of the free functions.
 *
 * Nothing here throws into the page: plugin hooks and storage are guarded, and an event that cannot be
 * serialised is dropped (with a console warning in debug mode).
 */
export const createTracker = (options: TrackerOptions): Tracker => {
  const { writeKey, host = '', plugins = [], requireConsent, cookieless, debug } = options;
  const timeout = options.sessionTimeout || 18e5;
  const warn = (...args: unknown[]) => debug && console.warn('[trackmate]', ...args);
  /** Runs one hook of every plugin; one that throws is reported in debug mode, and the others still run. */
  const each = <H extends 'setup' | 'session' | 'teardown'>(hook: H, ...args: Parameters<NonNullable<Plugin[H]>>) => {
    for (const p of plugins) {
      try {
        (p[hook] as ((...a: unknown[]) => void) | undefined)?.(...args);
      } catch (x) {
        warn(hook, x);
      }
    }
  };
  // Ids prefer localStorage, then the `storage` option (e.g. cookies), else memory; the queue needs localStorage.
  const local = cookieless ? undefined : localStore();
  const memory = memoryStore();
  const persistent = (!cookieless && (local || options.storage)) || memory;
  let state = persistent.get(CONSENT) as ConsentState | null | undefined;
  const allowed = () => (state ? state === 'granted' : !requireConsent);
  /** Ids live in memory until storing them is allowed, and again after a denial. */
  let ids = allowed() ? persistent : memory;
  const put = (k: string, v: string) => {
    ids.set(k, v);
    return v;
  };
  /** Moves the ids to another store. */
  const move = (to: Store) => {
    for (const k of [AID, SID]) {
      const v = ids.get(k);
      ids.del(k);
      if (v) to.set(k, v);
    }
    ids = to;
  };
  /** Super-properties (`register`), added to every event. */
  const supers: Properties = {};

  const delivery = createDelivery(
    `${host.replace(/\/+$/, '')}/api/track/event?writeKey=${encodeURIComponent(writeKey)}`,
    options,
    local,
    allowed,
    warn,
    // Another tab's consent decision applies here at once.
    (e) => e.key === CONSENT && e.newValue && decide(e.newValue as ConsentState),
  );

  /** Applies a consent decision, this tab's or (through the `storage` event) another tab's. */
  const decide = (s: ConsentState) => {
    state = s;
    if (s === 'granted') {
      move(persistent);
      delivery.resume();
    } else {
      move(memory);
      delivery.clear();
    }
  };

  const t: Tracker = {
    options,
    anonymousId: () => ids.get(AID) || put(AID, uuid()),
    sessionId() {
      const now = Date.now();
      const [id, seen] = (ids.get(SID) || '').split('.');
      const idle = now - +seen!;
      const fresh = !id || !(idle <= timeout);
      const sid = fresh ? uuid() : id;
      // The last activity, written at most once a second: a storage write per event costs more than the rest.
      if (fresh || idle > 999) put(SID, `${sid}.${now}`);
      if (fresh) each('session', sid, t);
      return sid;
    },
    keepHash: options.keepHash,
    register: (properties) => Object.assign(supers, properties),
    getConsent: () => state ?? undefined,
    track(name, properties) {
      if (state === 'denied') return;
      if (!EVENT_NAME.test(name)) return void warn('bad name', name);
      let e: ClientEvent | null = null;
      try {
        e = {
          timestamp: new Date().toISOString(),
          messageId: uuid(),
          name,
          anonymousId: t.anonymousId(),
          sessionId: t.sessionId(),
          properties: { ...supers, ...properties },
          context: {
            // Only where the event happened, never the query: a form sent with GET puts what was typed there.
            page: {
              // (one read of location: each costs microseconds)
              url: location.href.replace(t.keepHash ? /\?[^#]*/ : /[?#].*/, ''),
              title: document.title,
            },
            library: { name: '@trackmate/browser', version: VERSION },
          },
        };
        for (const p of plugins) if (e && p.beforeSend) e = p.beforeSend(e, t);
        if (!e) return;
        // Serialised once, here: the queue holds the string, so what the caller does with its objects later
        // (mutation, cycles) cannot change or break what is sent.
        const s = JSON.stringify(e);
        if (bytes(s) > MAX_EVENT_BYTES) throw 'over 32 KB';
        if (debug) console.log('[trackmate]', name, e);
        delivery.add(s);
        return e;
      } catch (x) {
        return void warn('dropped', x, e);
      }
    },
    flush: delivery.flush,
    consent(s) {
      persistent.set(CONSENT, s);
      decide(s);
    },
    reset() {
      ids.del(AID);
      ids.del(SID);
    },
    teardown() {
      delivery.stop();
      each('teardown');
    },
  };

  each('setup', t);
  return t;
};
