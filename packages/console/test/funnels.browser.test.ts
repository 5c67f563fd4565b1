/**
 * The Funnels page and the overview's revenue by source, in real Chromium in front of the real collector: three
 * visitors walk a funnel, one buyer's order is credited to the source that brought them; the funnel is built,
 * saved and read back from its saved state; screenshots at 1,440 and 360 px (packages/console/test-artifacts).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeRedisKeys } from '../../../test/helpers/redis-keys.mjs';
import {
  ARTIFACTS,
  admin,
  type Child,
  createSite,
  ensureBuilt,
  isolatedEnv,
  launchChromium,
  startCollector,
  startConsole,
  waitFor,
} from './harness.js';

let env: Record<string, string>;
let collector: Child;
let consoleApp: Child;
let site: { siteId: string; writeKey: string; secretKey: string };
let browser: Browser;
let page: Page;
const run = randomUUID().slice(0, 8);
const HOUR = 3_600_000;

async function track(events: Array<Record<string, unknown>>) {
  const res = await fetch(`${collector.url}/api/track/event`, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain',
      // a browser's, not Node's (which reads as a bot and is left out of every figure)
      'user-agent':
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    },
    body: JSON.stringify({ writeKey: site.writeKey, sentAt: new Date().toISOString(), batch: events }),
  });
  expect(res.status).toBe(202);
}
const ev = (visitor: string, at: number, name: string, properties: Record<string, unknown>) => ({
  messageId: randomUUID(),
  name,
  timestamp: new Date(at).toISOString(),
  anonymousId: `${visitor}-${run}`,
  sessionId: `s-${visitor}-${run}`,
  properties,
});

async function screenshots(name: string) {
  expect(await page.locator('h1').count(), `${name}: one h1`).toBe(1);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-1440.png`), fullPage: true });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.waitForTimeout(150);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} scrolls sideways at 360 px`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: join(ARTIFACTS, `${name}-360.png`), fullPage: true });
  await page.setViewportSize({ width: 1440, height: 900 });
}

beforeAll(async () => {
  ensureBuilt('packages/console');
  env = isolatedEnv();
  collector = await startCollector(env);
  site = createSite(env, 'https://shop.test');
  consoleApp = await startConsole(collector.url);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  const t = Date.now() - 2 * HOUR;
  const pv = (v: string, at: number, path: string, referrer = '') =>
    ev(v, at, 'page_view', { url: `https://shop.test${path}`, referrer, title: path });
  const cart = (v: string, at: number) => ev(v, at, 'add_to_cart', { productId: 'mug', quantity: 1, price: 20 });
  await track([
    pv('a', t, '/pricing', 'https://www.google.com/'),
    cart('a', t + 60_000),
    ev('a', t + 90_000, 'identify', { email: `a-${run}@example.com` }),
  ]);
  await track([pv('b', t, '/pricing'), cart('b', t + 60_000)]);
  await track([pv('c', t, '/pricing')]);
  await waitFor(
    async () => {
      const body = await admin<{ events: unknown[] }>(collector.url, site.secretKey, 'GET', '/api/events?limit=20');
      return body.body.events.length === 6 || null;
    },
    'the visitors stored',
    30_000,
  );
  const order = await admin(collector.url, site.secretKey, 'POST', '/api/track/server-event', {
    event: 'order_placed',
    orderId: `o-${run}`,
    profile: { email: `a-${run}@example.com` },
    items: [{ name: 'Mug', sku: 'mug', amount: 20, tax: 0, discount: 0 }],
    orderTotal: 20,
    currency: 'EUR',
    timestamp: new Date(t + 120_000).toISOString(),
  });
  expect(order.status).toBe(202);
  await page.goto(`${consoleApp.url}/sign-in`);
  await page.getByLabel('Secret key').fill(site.secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${consoleApp.url}/`);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await consoleApp?.stop();
  await collector?.stop();
  await removeRedisKeys(env.REDIS_URL!, env.TRACKMATE_QUEUE_PREFIX!);
});

describe('funnels and revenue by source (Chromium, real collector)', { timeout: 90_000 }, () => {
  it('builds a funnel per person, shows conversion and drop-off, saves it and reads it back from its state', async () => {
    await page.goto(`${consoleApp.url}/funnels`);
    await page.getByLabel('Step 1 event').fill('page_view');
    await page.getByLabel('Page path (optional)').first().fill('/pricing');
    await page.getByLabel('Step 2 event').fill('add_to_cart');
    await page.getByLabel('Step 3 event').fill('');
    await page.getByLabel('Break down by').selectOption('channel');
    await page.getByRole('button', { name: 'Show funnel' }).click();
    await page.waitForURL(/e1=page_view/);
    const visitors = () => page.locator('[data-funnel] [data-step] [data-visitors]').allTextContents();
    expect(await visitors()).toEqual(['3', '2']);
    expect(await page.locator('[data-step="2"] [data-dropoff]').textContent()).toBe('1');
    expect(await page.locator('[data-conversion]').textContent()).toBe('66.7 %');
    expect(await page.locator('tr[data-breakdown="Organic Search"]').count()).toBe(1);
    await screenshots('funnels');

    await page.getByLabel('Name to save it under').fill(`Pricing to cart ${run}`);
    await page.getByRole('button', { name: 'Save funnel' }).click();
    await page.waitForURL(/funnel=[0-9a-f]{24}/);
    await expect.poll(() => page.locator(`tr[data-saved="Pricing to cart ${run}"]`).count()).toBe(1);
    await expect
      .poll(
        async () => {
          await page.reload();
          return (await visitors()).join(',');
        },
        { timeout: 30_000 },
      )
      .toBe('3,2');
    expect(await page.locator('[data-funnel]').textContent()).toContain('from the saved funnel');
    await screenshots('funnels-saved');
  });

  it('the overview shows revenue by first and last touch beside the sources', async () => {
    await expect
      .poll(
        async () => {
          await page.goto(`${consoleApp.url}/`);
          return page.locator('section[data-panel="revenue"] tr[data-first="google.com"]').count();
        },
        { timeout: 30_000 },
      )
      .toBe(1);
    expect(await page.locator('section[data-panel="revenue"] tr[data-last="google.com"]').textContent()).toContain(
      'EUR',
    );
    await screenshots('overview-revenue');
  });
});
