// @vitest-environment jsdom
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { identify } from '../src/api.js';
import { cookieStore } from '../src/cookie-store.js';
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

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  showTab();
});
afterEach(() => {
  for (const t of trackers.splice(0)) t.teardown();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** What another tab's write to localStorage fires here. */
const otherTabSets = (key: string, value: string) => {
  localStorage.setItem(key, value);
  window.dispatchEvent(new StorageEvent('storage', { key, newValue: value }));
};

describe('consent across tabs', () => {
  it('a deny from another tab drops the queue and the batch in flight (it is not retried), and moves the ids to memory', async () => {
    const net = fakeNetwork();
    const pending: ((r: Response) => void)[] = [];
    net.reply(() => new Promise((resolve) => pending.push(resolve)));
    const t = tracker();
    t.track('in_flight');
    void t.flush();
    await vi.advanceTimersByTimeAsync(0);
    t.track('queued');
    expect(net.names()).toEqual(['in_flight']);
    otherTabSets('tm_consent', 'denied');
    expect(t.getConsent()).toBe('denied');
    expect(localStorage.getItem('tm_aid')).toBeNull();
    for (const resolve of pending) resolve(status(503)); // the in-flight batch fails: not retried
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.names()).toEqual(['in_flight']);
    expect(stored(KEY)).toEqual([]);
    expect(t.track('during')).toBeUndefined();

    net.reply(() => status(202));
    otherTabSets('tm_consent', 'granted');
    t.track('after');
    await t.flush();
    expect(net.names()).toEqual(['in_flight', 'after']);
  });
});

describe('delivery', () => {
  it('does not send events older than 7 days found in a closed tab’s mirror', async () => {
    const net = fakeNetwork();
    const ev = (name: string, daysAgo: number) => ({
      timestamp: new Date(Date.now() - daysAgo * 864e5).toISOString(),
      messageId: name,
      name,
      anonymousId: 'a',
    });
    localStorage.setItem(`tm_q_${KEY}.gone`, JSON.stringify([ev('aged', 8), ev('recent', 6)]));
    const t = tracker();
    await t.flush();
    expect(net.names()).toEqual(['recent']);
    expect(localStorage.getItem(`tm_q_${KEY}.gone`)).toBeNull();
  });

  it('retries in the same tab what it beaconed while the collector was failing', async () => {
    const net = fakeNetwork();
    net.reply(() => new TypeError('offline'));
    const t = tracker();
    t.track('a');
    await t.flush();
    closeTab(); // hidden: a beacon, whose fate is unknown
    showTab();
    expect(net.sent.at(-1)!.via).toBe('beacon');
    net.reply(() => status(202));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(net.sent.at(-1)!.via).toBe('fetch');
    expect(net.sent.at(-1)!.body.batch.map((e) => e.name)).toEqual(['a']);
  });

  it('serialises an event when it is tracked: later changes to the caller’s objects are not sent', async () => {
    const net = fakeNetwork();
    const t = tracker();
    const props: Record<string, unknown> = { plan: 'pro' };
    t.track('signup', props);
    props.plan = 'changed';
    props.self = props;
    await t.flush();
    expect(net.events()[0]!.properties).toEqual({ plan: 'pro' });
  });
});

describe('nothing throws into the page', () => {
  it('plugin hooks that throw are reported in debug mode; the others still run', async () => {
    const net = fakeNetwork();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = tracker({
      debug: true,
      plugins: [
        {
          setup: () => {
            throw new Error('setup');
          },
          session: () => {
            throw new Error('session');
          },
          beforeSend: (e) => {
            if (e.name === 'boom') throw new Error('beforeSend');
            return e;
          },
          teardown: () => {
            throw new Error('teardown');
          },
        },
        { setup: (tr) => void tr.track('second_plugin') },
      ],
    });
    expect(() => t.track('boom')).not.toThrow();
    await t.flush();
    expect(net.names()).toEqual(['second_plugin']);
    expect(() => t.teardown()).not.toThrow();
    expect(warn).toHaveBeenCalledWith('[trackmate]', 'setup', expect.any(Error));
    expect(warn).toHaveBeenCalledWith(
      '[trackmate]',
      'dropped',
      expect.any(Error),
      expect.objectContaining({ name: 'boom' }),
    );
  });

  it('cookies that throw (a sandboxed frame) read as empty', () => {
    fakeNetwork();
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie')!;
    vi.spyOn(document, 'cookie', 'get').mockImplementation(() => {
      throw new DOMException('sandboxed', 'SecurityError');
    });
    vi.spyOn(document, 'cookie', 'set').mockImplementation(() => {
      throw new DOMException('sandboxed', 'SecurityError');
    });
    const t = tracker({ storage: cookieStore() });
    expect(() => t.track('x')).not.toThrow();
    expect(() => t.consent('granted')).not.toThrow();
    expect(t.track('y')).toBeDefined();
    expect(cookie).toBeDefined();
  });
});

describe('API', () => {
  it('register adds super-properties to later events; the event’s own win', async () => {
    const net = fakeNetwork();
    const t = tracker();
    t.track('before');
    t.register({ plan: 'pro', app: 'web' });
    t.track('after', { plan: 'team' });
    await t.flush();
    expect(net.events().map((e) => e.properties)).toEqual([{}, { plan: 'team', app: 'web' }]);
  });

  it('identify takes an e-mail, or your userId (with or without an e-mail)', async () => {
    const net = fakeNetwork();
    const t = tracker();
    identify('ada@example.com', { userId: 'u-1', firstName: 'Ada' }, t);
    identify({ userId: 'u-2' }, undefined, t);
    await t.flush();
    expect(net.events().map((e) => e.properties)).toEqual([
      { userId: 'u-1', firstName: 'Ada', email: 'ada@example.com' },
      { userId: 'u-2' },
    ]);
  });

  it('debug mode logs every event it queues', () => {
    fakeNetwork();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const t = tracker({ debug: true });
    t.track('one');
    t.track('two');
    expect(log.mock.calls.map((c) => c.slice(0, 2))).toEqual([
      ['[trackmate]', 'one'],
      ['[trackmate]', 'two'],
    ]);
  });
});

describe('package exports', () => {
  it('resolve with require conditions too (the default condition): Jest, require.resolve, require()', () => {
    // Resolution is what the default condition gives; loading an ES module by require() needs Node >= 20.19.
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        "process.stdout.write([require.resolve('@trackmate/browser'), require.resolve('@trackmate/browser/page-view'), require.resolve('@trackmate/browser/cookie-store')].join(' '))",
      ],
      { cwd: join(import.meta.dirname, '../../..'), encoding: 'utf8' },
    );
    expect(out.split(' ').map((f) => f.replace(/.*\/dist\//, 'dist/'))).toEqual([
      'dist/index.js',
      'dist/plugins/page-view.js',
      'dist/cookie-store.js',
    ]);
  });
});
