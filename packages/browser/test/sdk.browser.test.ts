/**
 * The SDK in real Chromium against the real collector, Redis and MongoDB-wire server: what a visitor does
 * on a shop page ends up, exactly, in MongoDB. Needs the services (scripts/services.sh, which `npm test`
 * runs) and Chromium at /usr/bin/chromium (or CHROMIUM_PATH).
 */

import { readFileSync } from 'node:fs';
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
  pageServer,
  waitFor,
} from './real-collector.js';

interface StoredEvent {
  _id: ObjectId;
  messageId: string;
  name: string;
  anonymousId: string;
  sessionId: string;
  profileId: ObjectId | null;
  properties: Record<string, unknown>;
}

let env: ReturnType<typeof isolatedEnv>;
let c: Collector;
let site: { siteId: string; writeKey: string };
let shop: Awaited<ReturnType<typeof pageServer>>;
let browser: Browser;
let db: ReturnType<typeof mongo>;

/** The shop page: the README's snippet, pointing at the collector, and something to click, fill and scroll. */
const shopHtml = () => `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
<script>
  window.trackmate = window.trackmate || function () { (trackmate.q = trackmate.q || []).push(arguments); };
  trackmate('init', { writeKey: '${site.writeKey}', host: '${c.url}' });
</script>
<script async src="${c.url}/sdk.js"></script>
</head><body style="margin:0">
<h1>Shop</h1>
<button id="buy">  Buy now </button>
<form id="signup">
  <input type="email" name="email">
  <input name="first_name" autocomplete="given-name">
  <input type="password" name="password">
  <input type="checkbox" name="accept_terms">
  <button type="submit">Subscribe</button>
</form>
<div style="height: 5000px">Long page</div>
<script>document.getElementById('signup').addEventListener('submit', (e) => e.preventDefault());</script>
</body></html>`;

const events = (filter: Record<string, unknown> = {}) =>
  db.db
    .collection<StoredEvent>('events')
    .find({ siteId: new ObjectId(site.siteId), ...filter })
    .sort({ timestamp: 1, _id: 1 })
    .toArray();

const openShop = async (context: BrowserContext, path = '/'): Promise<Page> => {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} ${r.url()}`));
  await page.goto(`${shop.origin}${path}`);
  await page
    .waitForFunction(() => (window as unknown as { trackmate?: { l?: number } }).trackmate?.l === 1, null, {
      timeout: 15_000,
    })
    .catch((e: Error) => {
      throw new Error(`the SDK did not load: ${e.message}\n${problems.join('\n')}\ncollector log:\n${c.log()}`);
    });
  return page;
};

/** messageIds of the events the site's tabs keep in localStorage (one key per tab, `tm_q_<writeKey>.<tab>`). */
const storedIds = (page: Page) =>
  page.evaluate((key) => {
    const keys = Object.keys(localStorage).filter((k) => k.startsWith(`tm_q_${key}.`));
    return keys.flatMap((k) => JSON.parse(localStorage.getItem(k)!).map((e: { messageId: string }) => e.messageId));
  }, site.writeKey);

const anonymousIdOf = (page: Page) => page.evaluate(() => localStorage.getItem('tm_aid')!);

/** messageId → how many times a 202 answered a request carrying it (beacons included). */
const acceptedCounts = (context: BrowserContext) => {
  const counts = new Map<string, number>();
  context.on('response', (res) => {
    const req = res.request();
    if (req.method() !== 'POST' || !req.url().includes('/api/track/event') || res.status() !== 202) return;
    const body = JSON.parse(req.postData() ?? '{}') as { batch?: { messageId: string }[] };
    for (const e of body.batch ?? []) counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
  });
  return counts;
};

beforeAll(async () => {
  ensureBuilt();
  env = isolatedEnv();
  shop = await pageServer();
  site = createSite(env, shop.origin);
  c = await collector(env);
  shop.set(shopHtml());
  db = mongo(env.MONGODB_URI);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await c?.stop();
  await shop?.close();
  await db?.db.dropDatabase().catch(() => {});
  await db?.client.close();
  await removeRedisKeys(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
});

describe('@trackmate/browser in Chromium against the collector', () => {
  it('stores exactly what a visit captures — load, scroll, clicks, form, SPA navigation, close — and links the profile', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await openShop(context);
    const anonymousId = await anonymousIdOf(page);

    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.click('#buy');
    await page.waitForTimeout(1500); // one batch goes by fetch …
    await page.fill('input[name=email]', 'Ada@Example.com');
    await page.fill('input[name=first_name]', 'Ada');
    await page.fill('input[name=password]', 'hunter2');
    await page.check('input[name=accept_terms]');
    await page.click('button[type=submit]');
    await page.evaluate(() => {
      history.pushState(null, '', '/products');
      document.title = 'Products';
    });
    await page.waitForTimeout(50);
    await page.close({ runBeforeUnload: true }); // … the rest by beacon as the tab closes

    const stored = await waitFor(
      () => events({ anonymousId }),
      (e) => e.length >= 10,
      '10 events in MongoDB',
    );
    await new Promise((r) => setTimeout(r, 1000)); // nothing more may arrive
    const all = await events({ anonymousId });
    expect(all).toHaveLength(10);
    expect(new Set(all.map((e) => e.messageId)).size).toBe(10);

    const o = shop.origin;
    const byName = (n: string) => stored.filter((e) => e.name === n).map((e) => e.properties);
    const sessionId = stored[0]!.sessionId;
    expect(byName('active_site')).toEqual([{ url: `${o}/`, sessionId }]);
    expect(byName('page_view')).toEqual([
      { url: `${o}/`, referrer: '', title: 'Shop' },
      { url: `${o}/products`, referrer: `${o}/`, title: 'Products' },
    ]);
    expect(byName('deep_scroll')).toEqual([25, 50, 75, 100].map((percentage) => ({ percentage })));
    expect(byName('button_click')).toEqual([
      { elementId: 'buy', text: 'Buy now' },
      { elementId: '', text: 'Subscribe' },
    ]);
    expect(byName('form_submit')).toEqual([
      { formId: 'signup', fields: { email: 'Ada@Example.com', firstName: 'Ada', accept_terms: true } },
    ]);
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    expect(new Set(stored.map((e) => e.sessionId))).toEqual(new Set([sessionId]));

    // The form's e-mail made one profile; the visitor and all of its events are linked to it.
    const profiles = await waitFor(
      () =>
        db.db
          .collection('profiles')
          .find({ siteId: new ObjectId(site.siteId) })
          .toArray(),
      (p) => p.length > 0,
      'a profile',
    );
    expect(profiles).toHaveLength(1);
    expect(profiles[0]!.email).toBe('ada@example.com');
    expect(profiles[0]!.firstName).toBe('Ada');
    expect(profiles[0]!.anonymousIds).toContain(anonymousId);
    await waitFor(
      () => events({ anonymousId }),
      (e) => e.every((x) => x.profileId?.equals(profiles[0]!._id)),
      'profileId back-filled on every event of the visitor',
    );
    await context.close();
  }, 90_000);

  it('keeps events captured while the collector is down and delivers them once on the next page load', async () => {
    const context = await browser.newContext();
    const accepted = acceptedCounts(context);
    const page = await openShop(context);
    const anonymousId = await anonymousIdOf(page);
    await page.evaluate(() => (window as unknown as { trackmate: (m: string) => Promise<void> }).trackmate('flush'));
    await waitFor(
      () => events({ anonymousId, name: 'page_view' }),
      (e) => e.length === 1,
      'the first page_view',
    );

    await c.stop();
    const ids = await page.evaluate(async () => {
      const tm = (window as unknown as { trackmate: (...a: unknown[]) => unknown }).trackmate;
      const sent = [1, 2, 3, 4, 5].map((i) => (tm('track', 'offline_event', { i }) as { messageId: string }).messageId);
      await tm('flush');
      return sent;
    });
    await page.waitForTimeout(1500); // a retry fails too
    const kept = await storedIds(page);
    expect(kept).toEqual(ids);
    await page.close({ runBeforeUnload: true });
    expect(await events({ name: 'offline_event' })).toHaveLength(0);

    await c.start();
    const next = await openShop(context, '/again');
    const arrived = await waitFor(
      () => events({ anonymousId, name: 'offline_event' }),
      (e) => e.length >= 5,
      'the 5 offline events',
    );
    expect(arrived.map((e) => e.messageId)).toEqual(ids);
    expect(arrived.map((e) => e.properties.i)).toEqual([1, 2, 3, 4, 5]);
    await next.evaluate(() => (window as unknown as { trackmate: (m: string) => Promise<void> }).trackmate('flush'));
    await next.waitForTimeout(1100); // the mirror is rewritten within a second of the acknowledgement
    expect(await storedIds(next)).toEqual([]);
    // Each was acknowledged exactly once: the SDK did not send them twice after the collector came back.
    for (const id of ids) expect(accepted.get(id)).toBe(1);
    await context.close();
  }, 90_000);

  it('one-tag form: delivers a burst of more than 64 KB captured just before the tab closes', async () => {
    // The one-tag form: key from data-write-key, host = the origin that served sdk.js.
    shop.set(
      `<!doctype html><title>One tag</title><script async src="${c.url}/sdk.js" data-write-key="${site.writeKey}"></script>`,
    );
    const context = await browser.newContext();
    const page = await openShop(context).finally(() => shop.set(shopHtml()));
    const anonymousId = await anonymousIdOf(page);
    const bytes = await page.evaluate(() => {
      const tm = (window as unknown as { trackmate: (...a: unknown[]) => unknown }).trackmate;
      let size = 0;
      for (let i = 0; i < 200; i++) size += JSON.stringify(tm('track', 'burst', { i, pad: 'x'.repeat(1000) })).length;
      return size;
    });
    expect(bytes).toBeGreaterThan(3 * 64 * 1024);
    await page.close({ runBeforeUnload: true });
    const burst = await waitFor(
      () => events({ anonymousId, name: 'burst' }),
      (e) => e.length >= 200,
      '200 burst events',
    );
    expect(burst.map((e) => e.properties.i).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    expect(await events({ anonymousId, name: 'page_view' })).toHaveLength(1);
    await context.close();
  }, 90_000);

  it('consent mode: nothing leaves the page or is stored before consent, everything captured arrives after it', async () => {
    shop.set(shopHtml().replace(`host: '${c.url}' }`, `host: '${c.url}', requireConsent: true }`));
    const context = await browser.newContext();
    const requests: string[] = [];
    context.on('request', (r) => r.url().includes('/api/track/event') && requests.push(r.url()));
    try {
      const page = await openShop(context);
      await page.click('#buy');
      await page.waitForTimeout(2500); // more than the flush interval
      expect(requests).toEqual([]);
      expect(await page.evaluate(() => [localStorage.length, document.cookie])).toEqual([0, '']);
      const anonymousId = await page.evaluate(async () => {
        const tm = (window as unknown as { trackmate: (...a: unknown[]) => unknown }).trackmate;
        tm('consent', 'granted');
        await tm('flush');
        return localStorage.getItem('tm_aid')!;
      });
      const stored = await waitFor(
        () => events({ anonymousId }),
        (e) => e.length >= 3,
        'the consented events',
      );
      expect(stored.map((e) => e.name)).toEqual(['active_site', 'page_view', 'button_click']);
      // The decision is remembered: the next page sends without asking again.
      const next = await openShop(context, '/next');
      await next.evaluate(() => (window as unknown as { trackmate: (m: string) => Promise<void> }).trackmate('flush'));
      await waitFor(
        () => events({ anonymousId, name: 'page_view' }),
        (e) => e.length === 2,
        'the next page_view',
      );
    } finally {
      shop.set(shopHtml());
      await context.close();
    }
  }, 90_000);

  it('a form that navigates away (classic submit) still delivers its form_submit', async () => {
    shop.set(
      shopHtml().replace(
        `<script>document.getElementById('signup').addEventListener('submit', (e) => e.preventDefault());</script>`,
        '',
      ),
    );
    const context = await browser.newContext();
    try {
      const page = await openShop(context);
      const anonymousId = await anonymousIdOf(page);
      await page.fill('input[name=email]', 'linus@example.com');
      await Promise.all([page.waitForURL(/email=/), page.click('button[type=submit]')]);
      const stored = await waitFor(
        () => events({ anonymousId, name: 'form_submit' }),
        (e) => e.length >= 1,
        'the form_submit sent as the page navigated away',
      );
      expect(stored.map((e) => e.properties)).toEqual([
        { formId: 'signup', fields: { email: 'linus@example.com', accept_terms: false } },
      ]);
    } finally {
      shop.set(shopHtml());
      await context.close();
    }
  }, 90_000);

  it("serves npm start's demo page (examples/demo) working end to end: cart, order and the newsletter form", async () => {
    const demo = readFileSync(join(import.meta.dirname, '../../../examples/demo/index.html'), 'utf8');
    shop.set(demo.replaceAll('__WRITE_KEY__', site.writeKey).replaceAll('__HOST__', c.url));
    const context = await browser.newContext();
    try {
      const page = await openShop(context);
      const anonymousId = await anonymousIdOf(page);
      await page.click('#add-cup');
      await page.click('#add-beans');
      await page.click('#checkout');
      await page.fill('input[name=email]', 'grace@example.com');
      await page.click('#newsletter button[type=submit]');
      await page.click('a[href="/products"]');
      await page.close({ runBeforeUnload: true });
      const stored = await waitFor(
        () => events({ anonymousId, name: { $in: ['add_to_cart', 'order_product', 'form_submit', 'page_view'] } }),
        (e) => e.length >= 6,
        'the demo events',
      );
      const props = (n: string) => stored.filter((e) => e.name === n).map((e) => e.properties);
      expect(props('add_to_cart')).toEqual([
        { productId: 'cup-1', quantity: 1, price: 12 },
        { productId: 'beans-1kg', quantity: 1, price: 24.5 },
      ]);
      expect(props('order_product')).toEqual([
        {
          orderId: expect.stringMatching(/^demo-\d+$/),
          items: [
            { productId: 'cup-1', amount: 12, tax: 2.28, discount: 0 },
            { productId: 'beans-1kg', amount: 24.5, tax: 4.66, discount: 0 },
          ],
        },
      ]);
      expect(props('form_submit')).toEqual([
        { formId: 'newsletter', fields: { email: 'grace@example.com', accept_terms: false } },
      ]);
      expect(props('page_view').map((p) => new URL(String(p.url)).pathname)).toEqual(['/', '/products']);
    } finally {
      shop.set(shopHtml());
      await context.close();
    }
  }, 90_000);
});
