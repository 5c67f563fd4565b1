/**
 * Private by default, robust in every tab (issue 12), in real Chromium against the real collector, Redis and the
 * MongoDB-wire server: what a page does, and what ends up stored. The pages load the ESM build (dist/, as an
 * app's bundler would ship it) or the script-tag build the collector serves at /sdk.js.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ObjectId } from 'mongodb';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeRedisKeys } from '../../../test/helpers/redis-keys.mjs';
import {
  type Collector,
  collector,
  createSite,
  ensureBuilt,
  isolatedEnv,
  launchChromium,
  mongo,
  waitFor,
} from './real-collector.js';

const DIST = join(import.meta.dirname, '../dist');

interface StoredEvent {
  messageId: string;
  name: string;
  anonymousId: string;
  properties: Record<string, unknown>;
  context?: { page?: { url?: string } };
}

let env: ReturnType<typeof isolatedEnv>;
let c: Collector;
let site: { siteId: string; writeKey: string };
let browser: Browser;
let db: ReturnType<typeof mongo>;
let server: Server;
/** The shop's origin (127.0.0.1) and a "CDN" (the same server as localhost: another origin). */
let origin: string;
let cdn: string;
const pages = new Map<string, string>();

/** dist/ as built when the tests started (read once: a rebuild meanwhile does not pull files from under a page). */
const built = new Map<string, Buffer>();

/** Serves dist/ (the ESM build and the IIFE), and the HTML a test set for a path (query ignored). */
const serve = async () => {
  for (const f of readdirSync(DIST, { recursive: true, encoding: 'utf8' })) {
    if (f.endsWith('.js')) built.set(f, readFileSync(join(DIST, f)));
  }
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    if (path.startsWith('/dist/') || path.startsWith('/cdn/')) {
      const body = built.get(path.startsWith('/cdn/') ? 'trackmate.min.js' : path.slice(6));
      return body ? res.writeHead(200, { 'content-type': 'text/javascript' }).end(body) : res.writeHead(404).end();
    }
    return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pages.get(path) ?? '<!doctype html>');
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  cdn = `http://localhost:${port}`;
};

/**
 * A page of an app using the ESM build: `setup` runs after the imports, with `W` (write key) and `H` (collector)
 * in scope and the package's exports on `window.tm`; `options` are init's (plugins by their factory names).
 */
const esm = (options: string, setup = '', body = '', before = '') => `<!doctype html><html><head><meta charset="utf-8">
<title>App</title></head><body>${body}<script type="module">
import * as tm from '/dist/index.js';
import { pageView } from '/dist/plugins/page-view.js';
import { deepScroll } from '/dist/plugins/deep-scroll.js';
import { activeSite } from '/dist/plugins/active-site.js';
window.tm = tm;
const W = '${site.writeKey}';
const H = '${c.url}';
${before}
tm.init({ writeKey: W, host: H, ${options} });
${setup}
window.ready = true;
</script></body></html>`;

const open = async (context: BrowserContext, path: string, html?: string): Promise<Page> => {
  if (html) pages.set(path.split('?')[0]!, html);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  (page as Page & { problems: string[] }).problems = problems;
  const log: string[] = [];
  page.on('console', (m) => log.push(m.text()));
  page.on('requestfailed', (r) => log.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(`${origin}${path}`);
  await page
    .waitForFunction(() => (window as unknown as { ready?: boolean }).ready, null, { timeout: 15_000 })
    .catch((e: Error) => {
      throw new Error(`${path} did not start: ${e.message}\n${[...problems, ...log].join('\n')}`);
    });
  return page;
};
const problemsOf = (page: Page) => (page as Page & { problems: string[] }).problems;

type Tm = Record<string, (...a: unknown[]) => unknown>;
/** Calls an export of the ESM build in the page. */
const call = <R = unknown>(page: Page, fn: string, ...args: unknown[]) =>
  page.evaluate(
    ([f, a]) => (window as unknown as { tm: Tm }).tm[f as string]!(...(a as unknown[])),
    [fn, args],
  ) as Promise<R>;

const events = (filter: Record<string, unknown> = {}) =>
  db.db
    .collection<StoredEvent>('events')
    .find({ siteId: new ObjectId(site.siteId), ...filter })
    .sort({ timestamp: 1, _id: 1 })
    .toArray();

/** POSTs to the track endpoint seen by the context, with their times and the messageIds they carried. */
const posts = (context: BrowserContext) => {
  const seen: { at: number; url: string; ids: string[]; status?: number }[] = [];
  context.on('request', (r) => {
    if (r.method() !== 'POST' || !r.url().includes('/api/track/event')) return;
    const ids = ((JSON.parse(r.postData() ?? '{}').batch ?? []) as { messageId: string }[]).map((e) => e.messageId);
    seen.push({ at: Date.now(), url: r.url(), ids });
  });
  return seen;
};

/**
 * Every event the pages of a context hand to fetch or sendBeacon for the collector, as sent. Recorded in the page
 * (beacons sent while a page unloads never show as requests to the test), in localStorage, read with `read(page)`.
 */
const sentEvents = async (context: BrowserContext) => {
  await context.addInitScript(() => {
    const keep = (body: unknown) => {
      if (typeof body !== 'string') return;
      const all = JSON.parse(localStorage.getItem('test_wire') ?? '[]') as string[];
      localStorage.setItem('test_wire', JSON.stringify([...all, body]));
    };
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => {
      if (String(url).includes('/api/track/event')) keep(data);
      return beacon(url, data);
    };
    const f = window.fetch;
    window.fetch = (url, init) => {
      if (String(url).includes('/api/track/event')) keep(init?.body);
      return f(url, init);
    };
  });
  return async (page: Page) =>
    (await page.evaluate(() => JSON.parse(localStorage.getItem('test_wire') ?? '[]') as string[])).flatMap((text) => {
      const body = JSON.parse(text);
      return (body.batch ?? [body]) as StoredEvent[];
    });
};

/** messageId → how many 202 answers carried it. */
const acceptedCounts = (context: BrowserContext) => {
  const counts = new Map<string, number>();
  context.on('response', (res) => {
    const req = res.request();
    if (req.method() !== 'POST' || !req.url().includes('/api/track/event') || res.status() !== 202) return;
    for (const e of (JSON.parse(req.postData() ?? '{}').batch ?? []) as { messageId: string }[]) {
      counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
    }
  });
  return counts;
};

/** Stops and starts the collector (start only when stopped: a second start would spawn a second process). */
let stopped = false;
const down = async () => {
  await c.stop();
  stopped = true;
};
const up = async () => {
  if (stopped) await c.start();
  stopped = false;
};

const mirrorOf = (page: Page) =>
  page.evaluate((key) => {
    const out: Record<string, string[]> = {};
    for (const k of Object.keys(localStorage)) {
      if (k.startsWith(`tm_q_${key}`))
        out[k] = JSON.parse(localStorage.getItem(k)!).map((e: { name: string }) => e.name);
    }
    return out;
  }, site.writeKey);

const hide = (page: Page, hidden: boolean) =>
  page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, value: h ? 'hidden' : 'visible' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);

beforeAll(async () => {
  ensureBuilt();
  env = isolatedEnv();
  c = await collector(env);
  await serve();
  site = createSite(env, origin);
  db = mongo(env.MONGODB_URI);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await c?.stop();
  server?.close();
  await db?.db.dropDatabase().catch(() => {});
  await db?.client.close();
  await removeRedisKeys(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
});

describe('privacy', () => {
  it('URLs: only allowed query parameters leave the page (campaign tags, click ids, the allow-list); context.page.url has no query', async () => {
    const context = await browser.newContext();
    const sent = await sentEvents(context);
    const page = await open(
      context,
      '/landing?promo_code=SPRING&customer=42&token=t0k3n&color=red&utm_source=news&gclid=g1#frag',
      esm(`plugins: [pageView()], urlParams: { allow: ['promo_code'], deny: ['gclid'] }`),
    );
    const aid = await call<string>(page, 'anonymousId');
    await call(page, 'flush');
    const [view] = await waitFor(
      () => events({ anonymousId: aid, name: 'page_view' }),
      (e) => e.length > 0,
      'the page_view',
    );
    // the SDK sends its allow-list and the page's additions…
    const wire = await sent(page);
    expect(wire.find((e) => e.messageId === view!.messageId)!.properties.url).toBe(
      `${origin}/landing?promo_code=SPRING&utm_source=news`,
    );
    // …and the collector stores what the site's rules allow (this site added nothing: promo_code goes too)
    expect(view!.properties.url).toBe(`${origin}/landing?utm_source=news`);
    expect(view!.context?.page?.url).toBe(`${origin}/landing`);
    expect(JSON.stringify(view)).not.toMatch(/t0k3n|customer|color|gclid|frag/);
    await context.close();
  }, 60_000);

  // Regression (issue 22): with the one-tag install, a sign-up form sent with GET put firstName, lastName and a
  // csrf token into the page_view url of the thanks page and the referrer of the next page, all the way to MongoDB
  it('one tag: a sign-up form sent with GET leaves no field in the url or the next referrer, on the wire or stored', async () => {
    const tag = `<script async src="${c.url}/sdk.js" data-write-key="${site.writeKey}" data-url-params="plan" onload="window.ready = true"></script>`;
    pages.set(
      '/join',
      `<!doctype html><title>Join</title>${tag}
<form id="join" method="get" action="/thanks">
  <input type="email" name="email" value="ann@example.com">
  <input name="firstName" value="Annabel">
  <input name="lastName" value="Buyerson">
  <input type="tel" name="phone" value="+4915112345678">
  <input type="password" name="password" value="hunter2">
  <input type="hidden" name="csrf" value="secret-token">
  <input type="hidden" name="plan" value="pro">
  <input type="hidden" name="utm_source" value="footer">
  <button id="send" type="submit">Join</button>
</form>`,
    );
    pages.set('/thanks', `<!doctype html><title>Thanks</title>${tag}<a id="next" href="/next">Go on</a>`);
    pages.set('/next', `<!doctype html><title>Next</title>${tag}`);
    const context = await browser.newContext();
    const sent = await sentEvents(context);
    const page = await open(context, '/join');
    const aid = await page.evaluate(() =>
      (window as unknown as { trackmate: (m: string) => string }).trackmate('anonymousId'),
    );
    await Promise.all([page.waitForURL(/\/thanks\?/), page.click('#send')]);
    expect(page.url()).toContain('firstName=Annabel'); // the browser did put the fields in the address bar
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready);
    await Promise.all([page.waitForURL(/\/next$/), page.click('#next')]);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready);
    await page.evaluate(() => (window as unknown as { trackmate: (m: string) => unknown }).trackmate('flush'));
    const views = await waitFor(
      () => events({ anonymousId: aid, name: 'page_view' }),
      (e) => e.length >= 3,
      'three page views',
    );
    const thanks = views.find((v) => String(v.properties.url).includes('/thanks'))!;
    const next = views.find((v) => String(v.properties.url).endsWith('/next'))!;
    // sent: the campaign tag and the page's own addition (data-url-params="plan"); stored: what the site allows
    const wire = await sent(page);
    const sentThanks = wire.find((e) => e.messageId === thanks.messageId)!;
    expect(sentThanks.properties.url).toBe(`${origin}/thanks?plan=pro&utm_source=footer`);
    expect(wire.find((e) => e.messageId === next.messageId)!.properties.referrer).toBe(sentThanks.properties.url);
    expect(thanks.properties.url).toBe(`${origin}/thanks?utm_source=footer`);
    expect(next.properties.referrer).toBe(`${origin}/thanks?utm_source=footer`);
    // only the form_submit event names the person (that is what it is for); no URL does, and no event holds the
    // password or the csrf token
    const personal = /ann%40example|Annabel|Buyerson|4915112345678|hunter2|secret-token/;
    const stored = await events({ anonymousId: aid });
    for (const [where, list] of [
      ['sent', wire],
      ['stored', stored],
    ] as const) {
      expect(list.length, where).toBeGreaterThanOrEqual(3);
      expect(JSON.stringify(list.filter((e) => e.name !== 'form_submit')), where).not.toMatch(personal);
      expect(JSON.stringify(list), where).not.toMatch(/hunter2|secret-token/);
    }
    await context.close();
  }, 60_000);

  it('forms and clicks: tel only as phone when named so, no card-like or CVV-like value, no typed text, no e-mail in click text', async () => {
    pages.set(
      '/signup',
      `<!doctype html><title>Sign up</title>
<script async src="${c.url}/sdk.js" data-write-key="${site.writeKey}" onload="window.ready = true"></script>
<form id="signup">
  <input type="tel" name="otp" value="+441234567890">
  <input type="tel" name="phone" value="+442222222222">
  <input name="first_name" value="4111 1111 1111 1111">
  <input name="last_name" value="123">
  <input type="email" name="email" value="grace@example.com">
</form>
<input type="text" data-track="search" id="search">
<button id="logout">Log out grace@example.com</button>
<script>document.getElementById('signup').addEventListener('submit', (e) => e.preventDefault());</script>`,
    );
    const context = await browser.newContext();
    const page = await open(context, '/signup');
    const aid = await page.evaluate(() => localStorage.getItem('tm_aid')!);
    await page.fill('#search', 'what I typed');
    await page.click('#search');
    await page.click('#logout');
    await page.evaluate(() => (document.getElementById('signup') as HTMLFormElement).requestSubmit());
    await page.close({ runBeforeUnload: true });
    const stored = await waitFor(
      () => events({ anonymousId: aid, name: { $in: ['form_submit', 'button_click'] } }),
      (e) => e.length >= 3,
      'the form_submit and two clicks',
    );
    const props = (n: string) => stored.filter((e) => e.name === n).map((e) => e.properties);
    expect(props('form_submit')).toEqual([
      { formId: 'signup', fields: { phone: '+442222222222', email: 'grace@example.com' } },
    ]);
    expect(props('button_click')).toEqual([
      { elementId: 'search', text: '' },
      { elementId: 'logout', text: 'Log out' },
    ]);
    // the card number as typed, not `4111` alone: a random messageId or ObjectId holds it now and then
    expect(JSON.stringify(stored)).not.toMatch(/4111 ?1111|441234567890|what I typed/);
    await context.close();
  }, 60_000);

  it('consent across tabs: a deny in one tab drops the other tab’s queue and ids at once; nothing from before it is sent after a grant', async () => {
    const context = await browser.newContext();
    const html = esm('flushInterval: 60_000');
    const a = await open(context, '/tab-a', html);
    const b = await open(context, '/tab-b', html);
    const aidB = await call<string>(b, 'anonymousId');
    await call(b, 'track', 'before_deny');
    await call(a, 'consent', 'denied');
    await b.waitForFunction(() => (window as unknown as { tm: Tm }).tm.getConsent!() === 'denied');
    expect(await b.evaluate(() => localStorage.getItem('tm_aid'))).toBeNull();
    expect(await call(b, 'track', 'during_deny')).toBeUndefined();
    await call(a, 'consent', 'granted');
    await b.waitForFunction(() => (window as unknown as { tm: Tm }).tm.getConsent!() === 'granted');
    await call(b, 'track', 'after_grant');
    await call(b, 'flush');
    await b.close({ runBeforeUnload: true });
    await a.close({ runBeforeUnload: true });
    await waitFor(
      () => events({ name: 'after_grant' }),
      (e) => e.length === 1,
      'the event after the grant',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await events({ name: { $in: ['before_deny', 'during_deny'] } })).toEqual([]);
    expect((await events({ name: 'after_grant' }))[0]!.anonymousId).toBe(aidB); // ids came back with the grant
    await context.close();
  }, 60_000);

  it('script tag: data-require-consent="false" sends without consent; from a CDN without data-host it posts nowhere and says why', async () => {
    const context = await browser.newContext();
    const seen = posts(context);
    pages.set(
      '/flags',
      `<!doctype html><title>Flags</title><script async src="${c.url}/sdk.js" data-write-key="${site.writeKey}" data-require-consent="false" onload="window.ready = true"></script>`,
    );
    const page = await open(context, '/flags');
    const aid = await page.evaluate(() => localStorage.getItem('tm_aid')!);
    await page.evaluate(() => (window as unknown as { trackmate: (m: string) => Promise<void> }).trackmate('flush'));
    await waitFor(
      () => events({ anonymousId: aid, name: 'page_view' }),
      (e) => e.length === 1,
      'the page_view sent without a consent call',
    );

    pages.set(
      '/cdn-page',
      `<!doctype html><title>CDN</title><script async src="${cdn}/cdn/trackmate.min.js" data-write-key="${site.writeKey}" data-debug onload="window.ready = true"></script>`,
    );
    const before = seen.length;
    const logs: string[] = [];
    const cdnPage = await context.newPage();
    cdnPage.on('console', (m) => logs.push(m.text()));
    await cdnPage.goto(`${origin}/cdn-page`);
    await cdnPage.waitForFunction(() => (window as unknown as { ready?: boolean }).ready);
    await cdnPage.evaluate(() =>
      (window as unknown as { trackmate: (...a: unknown[]) => unknown }).trackmate('track', 'x'),
    );
    await cdnPage.waitForTimeout(2000);
    await cdnPage.close({ runBeforeUnload: true });
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.slice(before)).toEqual([]);
    expect(logs.join('\n')).toContain(`[trackmate] no host given: not sending events to ${cdn}`);
    await context.close();
  }, 60_000);
});

describe('robustness', () => {
  it('serialises each event once: later mutation cannot change it, a circular one is dropped with a debug message', async () => {
    const context = await browser.newContext();
    const page = await open(context, '/serialise', esm('debug: true'));
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    const aid = await call<string>(page, 'anonymousId');
    await page.evaluate(() => {
      const { tm } = window as unknown as { tm: Tm };
      const p: Record<string, unknown> = { plan: 'pro', n: 1 };
      tm.track!('mutated', p);
      p.plan = 'changed';
      p.self = p;
      tm.track!('circular', p);
      return tm.flush!();
    });
    const [stored] = await waitFor(
      () => events({ anonymousId: aid, name: 'mutated' }),
      (e) => e.length === 1,
      'the mutated event',
    );
    expect(stored!.properties).toEqual({ plan: 'pro', n: 1 });
    expect(await events({ anonymousId: aid, name: 'circular' })).toEqual([]);
    expect(logs.some((l) => l.startsWith('[trackmate] dropped'))).toBe(true);
    // debug mode logs every event it queues
    expect(logs.filter((l) => l.startsWith('[trackmate] mutated'))).toHaveLength(1);
    expect(problemsOf(page)).toEqual([]);
    await context.close();
  }, 60_000);

  it('tabs never duplicate or lose each other’s events: a page load adopts only the mirror of a closed tab', async () => {
    const context = await browser.newContext();
    const accepted = acceptedCounts(context);
    const html = esm('');
    await down();
    try {
      const a = await open(context, '/tab-a', html);
      const b = await open(context, '/tab-b', html);
      for (const n of ['a1', 'a2']) await call(a, 'track', n);
      for (const n of ['b1', 'b2']) await call(b, 'track', n);
      await b.waitForTimeout(1500); // sends fail; each mirror is written
      const before = await mirrorOf(b);
      expect(Object.values(before).sort()).toEqual([
        ['a1', 'a2'],
        ['b1', 'b2'],
      ]);
      const keyOf = (first: string) => Object.keys(before).find((k) => before[k]![0] === first)!;
      const [keyA, keyB] = [keyOf('a1'), keyOf('b1')];
      await a.close({ runBeforeUnload: true });
      const next = await open(context, '/tab-c', html); // a new page load while tab b lives
      const after = await waitFor(
        () => mirrorOf(next),
        (m) => !(keyA in m),
        "tab c taking over the closed tab's mirror",
      );
      // c holds a's events under its own key; b's key, b being alive, is left alone
      expect(after[keyB]).toEqual(['b1', 'b2']);
      expect(
        Object.entries(after)
          .filter(([k]) => k !== keyB)
          .map(([, v]) => v),
      ).toEqual([['a1', 'a2']]);
      await up();
      for (const p of [b, next]) await p.evaluate(() => window.dispatchEvent(new Event('online')));
      await waitFor(
        () => events({ name: { $in: ['a1', 'a2', 'b1', 'b2'] } }),
        (e) => e.length === 4,
        'the four events',
      );
      await next.waitForTimeout(1500);
      const ids = (await events({ name: { $in: ['a1', 'a2', 'b1', 'b2'] } })).map((e) => e.messageId);
      for (const id of ids) expect(accepted.get(id), id).toBe(1);
      expect(await mirrorOf(next)).toEqual({});
    } finally {
      await up();
      await context.close();
    }
  }, 90_000);

  it('backoff is persisted: the next page load waits for it instead of hitting a failing collector at once', async () => {
    const context = await browser.newContext();
    const seen = posts(context);
    await down();
    try {
      const page = await open(context, '/backoff', esm(''));
      await call(page, 'track', 'x');
      await call(page, 'flush');
      const [attempt, until] = (await page.evaluate((k) => localStorage.getItem(`tm_b_${k}`)!, site.writeKey))
        .split('.')
        .map(Number) as [number, number];
      expect(attempt).toBeGreaterThanOrEqual(1);
      expect(until).toBeGreaterThan(Date.now());
      await page.reload();
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready);
      const loaded = Date.now(); // (the old page's beacon at pagehide came before this)
      await page.waitForTimeout(Math.max(0, until - Date.now()) + 1500);
      const after = seen.filter((p) => p.at >= loaded);
      expect(after.length).toBeGreaterThan(0); // it retried …
      for (const p of after) expect(p.at).toBeGreaterThanOrEqual(until - 50); // … but not before the backoff ended
    } finally {
      await up();
      await context.close();
    }
  }, 60_000);

  it('events older than 7 days are not retried; a 4xx other than 408/429 is not retried at all', async () => {
    const context = await browser.newContext();
    const seen = posts(context);
    const old = new Date(Date.now() - 8 * 864e5).toISOString();
    const fresh = new Date().toISOString();
    const ev = (messageId: string, timestamp: string, name: string) => ({
      timestamp,
      messageId,
      name,
      anonymousId: 'aged-visitor',
      properties: {},
    });
    const oldId = crypto.randomUUID();
    const freshId = crypto.randomUUID();
    await context.addInitScript(
      ([key, value]) => {
        if (!localStorage.getItem('seeded')) localStorage.setItem(key!, value!);
        localStorage.setItem('seeded', '1');
      },
      [`tm_q_${site.writeKey}.closed-tab`, JSON.stringify([ev(oldId, old, 'aged'), ev(freshId, fresh, 'recent')])],
    );
    const page = await open(context, '/aged', esm(''));
    await waitFor(
      () => events({ anonymousId: 'aged-visitor' }),
      (e) => e.length >= 1,
      'the recent event',
    );
    await page.waitForTimeout(1000);
    expect((await events({ anonymousId: 'aged-visitor' })).map((e) => e.name)).toEqual(['recent']);
    expect(seen.flatMap((p) => p.ids)).not.toContain(oldId);

    // an unknown write key: the collector answers 401 (with CORS headers), the batch is dropped, never retried
    const bad = await open(
      context,
      '/bad-key',
      esm('').replace(`const W = '${site.writeKey}'`, "const W = 'pk_unknown_key_0000000000'"),
    );
    const before = seen.length;
    await call(bad, 'track', 'refused');
    await call(bad, 'flush');
    await bad.waitForTimeout(4000);
    const refused = seen.slice(before).filter((p) => p.url.includes('pk_unknown_key'));
    expect(refused).toHaveLength(1);
    expect(await bad.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('pk_unknown_key')))).toEqual([]);
    await context.close();
  }, 60_000);

  it('events beaconed while the collector is down are retried by the same tab once it is back', async () => {
    const context = await browser.newContext();
    const accepted = acceptedCounts(context);
    await down();
    try {
      const page = await open(context, '/beacon', esm(''));
      const aid = await call<string>(page, 'anonymousId');
      await call(page, 'track', 'first');
      await call(page, 'flush'); // fails: the collector is down
      await call(page, 'track', 'second');
      await hide(page, true); // beacons: their fate is unknown while the collector fails
      await hide(page, false);
      await up();
      await page.evaluate(() => window.dispatchEvent(new Event('online')));
      const stored = await waitFor(
        () => events({ anonymousId: aid, name: { $in: ['first', 'second'] } }),
        (e) => e.length === 2,
        'both events, from the same tab',
      );
      await page.waitForTimeout(1000);
      for (const e of stored) expect(accepted.get(e.messageId)).toBe(1);
    } finally {
      await up();
      await context.close();
    }
  }, 60_000);

  it('nothing throws into the page: sandboxed frame, corrupt mirror, full storage, throwing plugins', async () => {
    const context = await browser.newContext();
    // a sandboxed frame: localStorage and document.cookie throw there
    const frameDoc = `<script src="${c.url}/sdk.js" data-write-key="${site.writeKey}" data-host="${c.url}"></script>
<script>try { trackmate('track', 'framed'); trackmate('anonymousId'); trackmate('consent', 'granted'); document.title = 'ok'; } catch (e) { document.title = 'threw ' + e; }</script>`;
    pages.set(
      '/sandbox',
      `<!doctype html><script>window.ready = true</script><iframe sandbox="allow-scripts" srcdoc="${frameDoc.replace(/"/g, '&quot;')}"></iframe>`,
    );
    const page = await open(context, '/sandbox');
    const frame = await waitFor(
      () => page.frames()[1],
      (f) => !!f,
      'the frame',
    );
    await frame!.waitForFunction(() => document.title !== '');
    expect(await frame!.title()).toBe('ok');

    // a corrupt mirror, storage filled to its quota (after the ids were stored), and plugins whose hooks throw
    const full = await open(
      context,
      '/full',
      esm(
        `plugins: [{ setup() { throw new Error('setup') }, session() { throw new Error('session') }, teardown() { throw new Error('teardown') } }, pageView()]`,
        `try { for (let i = 0; ; i++) localStorage.setItem('junk' + i, 'x'.repeat(256 * 1024)); } catch {}`,
        '',
        `localStorage.setItem('tm_q_' + W + '.corrupt', '{not json');`,
      ),
    );
    const aid = await call<string>(full, 'anonymousId');
    await call(full, 'track', 'still_sent');
    await call(full, 'flush');
    await waitFor(
      () => events({ name: 'still_sent' }),
      (e) => e.length === 1,
      'an event from the page with full storage',
    );
    expect(await events({ name: 'page_view', anonymousId: aid })).toHaveLength(1); // the plugin after the throwing one
    await full.evaluate(() => (window as unknown as { tm: Tm }).tm.init!({ writeKey: 'pk_other' })); // tears down
    expect(problemsOf(full)).toEqual([]);
    expect(problemsOf(page)).toEqual([]);
    await context.close();
  }, 60_000);

  it('page_view: once a prerendered page is shown, again on a bfcache restore, not for replaceState with { replaceState: false }', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      if (location.pathname === '/prerendered')
        Object.defineProperty(document, 'prerendering', { configurable: true, value: true });
    });
    const page = await open(context, '/prerendered', esm('plugins: [pageView({ replaceState: false })]'));
    const aid = await call<string>(page, 'anonymousId');
    await page.waitForTimeout(1500);
    expect(await events({ anonymousId: aid, name: 'page_view' })).toEqual([]); // not while prerendered
    await page.evaluate(() => {
      Object.defineProperty(document, 'prerendering', { configurable: true, value: false });
      document.dispatchEvent(new Event('prerenderingchange'));
      history.replaceState(null, '', '/prerendered?q=m');
      history.replaceState(null, '', '/prerendered?q=mugs');
    });
    await page.waitForTimeout(50);
    await page.evaluate(() => history.pushState(null, '', '/cart'));
    await page.waitForTimeout(50);
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
    await call(page, 'flush');
    const views = await waitFor(
      () => events({ anonymousId: aid, name: 'page_view' }),
      (e) => e.length >= 3,
      'three page views',
    );
    await page.waitForTimeout(500);
    expect((await events({ anonymousId: aid, name: 'page_view' })).map((e) => e.properties.url)).toEqual([
      `${origin}/prerendered`,
      `${origin}/cart`,
      `${origin}/cart`,
    ]);
    expect(views).toHaveLength(3);
    await context.close();
  }, 60_000);

  it('deep_scroll: an inner scrolling container, reset at each page_view, no layout read once every mark fired', async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const body = `<main id="pane" style="height:400px;overflow:auto"><div style="height:4000px">long</div></main>`;
    const setup = `
      const pane = document.getElementById('pane');
      const d = Object.getOwnPropertyDescriptor(Element.prototype, 'scrollTop');
      window.reads = 0;
      Object.defineProperty(pane, 'scrollTop', { get() { window.reads++; return d.get.call(this); }, set(v) { d.set.call(this, v); } });`;
    const page = await open(
      context,
      '/shell',
      esm(`plugins: [pageView(), deepScroll({ container: '#pane' })]`, setup, body),
    );
    const aid = await call<string>(page, 'anonymousId');
    /** Scrolls the pane, then waits three frames: the scroll event, the frame it asked for, and one more. */
    const scroll = (y: number) =>
      page.evaluate(async (top) => {
        document.getElementById('pane')!.scrollTop = top;
        for (let i = 0; i < 3; i++) await new Promise((r) => requestAnimationFrame(r));
      }, y);
    await scroll(1000);
    await scroll(4000);
    const reads = await page.evaluate(() => (window as unknown as { reads: number }).reads);
    for (const y of [0, 2000, 4000, 100]) await scroll(y);
    expect(await page.evaluate(() => (window as unknown as { reads: number }).reads)).toBe(reads);
    await page.evaluate(() => history.pushState(null, '', '/next'));
    await page.waitForTimeout(50);
    await scroll(1000);
    await call(page, 'flush');
    await page.waitForTimeout(500);
    const marks = await waitFor(
      () => events({ anonymousId: aid, name: 'deep_scroll' }),
      (e) => e.length >= 5,
      'the deep_scroll marks',
    );
    expect(marks.map((e) => e.properties.percentage)).toEqual([25, 50, 75, 100, 25]);
    await context.close();
  }, 60_000);
});

describe('API', () => {
  it('register adds super-properties; identify carries userId; anonymousId and getConsent answer on the global', async () => {
    pages.set(
      '/api',
      `<!doctype html><title>API</title><script async src="${c.url}/sdk.js" data-write-key="${site.writeKey}" onload="window.ready = true"></script>`,
    );
    const context = await browser.newContext();
    const answers: unknown[] = [];
    context.on('response', (res) => {
      if (res.url().includes('/api/track/event'))
        res.json().then(
          (j) => answers.push(j),
          () => {},
        );
    });
    const page = await open(context, '/api');
    const r = await page.evaluate(async () => {
      const tm = (window as unknown as { trackmate: (...a: unknown[]) => unknown }).trackmate;
      tm('register', { plan: 'pro' });
      tm('identify', 'linus@example.com', { userId: 'u-42', firstName: 'Linus' });
      tm('identify', { userId: 'u-43' });
      tm('track', 'upgrade', { seats: 3, plan: 'team' });
      const before = tm('getConsent');
      tm('consent', 'granted');
      await tm('flush');
      return { aid: tm('anonymousId'), stored: localStorage.getItem('tm_aid'), before, after: tm('getConsent') };
    });
    expect(r.aid).toBe(r.stored);
    expect(r.before).toBeUndefined();
    expect(r.after).toBe('granted');
    const stored = await waitFor(
      () => events({ anonymousId: r.aid as string, name: { $in: ['identify', 'upgrade'] } }),
      (e) => e.length === 3,
      `two identify and upgrade (collector answered ${JSON.stringify(answers)})`,
    );
    expect(stored.map((e) => e.properties)).toEqual([
      { plan: 'pro', userId: 'u-42', firstName: 'Linus', email: 'linus@example.com' },
      { plan: 'pro', userId: 'u-43' },
      { plan: 'team', seats: 3 },
    ]);
    const profiles = db.db.collection('profiles');
    const profile = await waitFor(
      () => profiles.findOne({ siteId: new ObjectId(site.siteId), userId: 'u-42' }),
      (p) => !!p,
      'the profile',
    );
    expect(profile!.anonymousIds).toContain(r.aid);
    // a browser's userId + e-mail binds nothing: the address is the user's unverified claim and has its own profile
    expect(profile!.unverifiedEmail?.email).toBe('linus@example.com');
    const byEmail = await profiles.findOne({ siteId: new ObjectId(site.siteId), email: 'linus@example.com' });
    expect(byEmail?.userId).toBeUndefined();
    await context.close();
  }, 60_000);
});
