/**
 * The Next.js shop in real Chromium against the real collector: a visitor browses, adds to the cart and buys;
 * the server action reports the order with @trackmate/node, and the order is found through the collector API
 * (the console's) on the buyer's profile, together with the visitor's page views and add-to-cart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  admin,
  type Child,
  createSite,
  ensureBuilt,
  freePort,
  isolatedEnv,
  launchChromium,
  repo,
  startCollector,
  waitFor,
} from '../../../packages/console/test/harness.js';

let env: Record<string, string>;
let collector: Child;
let site: { siteId: string; writeKey: string; secretKey: string };
let shop: ChildProcess;
let shopUrl: string;
let shopLog = '';
let browser: Browser;

beforeAll(async () => {
  ensureBuilt('examples/next-shop');
  env = isolatedEnv();
  collector = await startCollector(env);
  const port = await freePort();
  shopUrl = `http://127.0.0.1:${port}`;
  site = createSite(env, shopUrl);
  shop = spawn(
    process.execPath,
    [join(repo, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'],
    {
      cwd: join(repo, 'examples/next-shop'),
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: '1',
        TRACKMATE_WRITE_KEY: site.writeKey,
        TRACKMATE_SECRET_KEY: site.secretKey,
        TRACKMATE_HOST: collector.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  shop.stdout!.on('data', (d) => (shopLog += d));
  shop.stderr!.on('data', (d) => (shopLog += d));
  await waitFor(
    () =>
      fetch(shopUrl).then(
        (r) => r.ok,
        () => false,
      ),
    `the shop to start:\n${shopLog}`,
    60_000,
  );
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (shop && shop.exitCode === null) {
    shop.kill('SIGTERM');
    await once(shop, 'exit');
  }
  await collector?.stop();
});

describe('examples/next-shop (Chromium, real collector)', () => {
  it('a purchase is reported by the server action and found, linked to the buyer, through the collector API', async () => {
    const email = `buyer-${Date.now()}@example.com`;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(shopUrl);
    await page.getByRole('link', { name: 'T-Shirt' }).click(); // a client-side navigation
    await page.waitForURL(/\/product\/TSHIRT001$/);
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByRole('link', { name: 'Go to the cart' }).click();
    await page.getByLabel('E-mail').fill(email);
    await page.screenshot({ path: join(ARTIFACTS, 'next-shop-cart.png'), fullPage: true });
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/thanks\?order=/);
    const orderId = new URL(page.url()).searchParams.get('order')!;
    expect(orderId).toMatch(/^ORD-/);
    await page.screenshot({ path: join(ARTIFACTS, 'next-shop-thanks.png'), fullPage: true });

    const api = <T>(path: string) => admin<T>(collector.url, site.secretKey, 'GET', path);
    const profile = await waitFor(async () => {
      const r = await api<{ profiles: Array<{ id: string; firstName?: string }> }>(
        `/api/profiles?email=${encodeURIComponent(email)}`,
      );
      return r.body.profiles[0];
    }, 'the buyer’s profile');
    expect(profile.firstName).toBe('Jane');
    type Ev = { name: string; properties: Record<string, unknown> };
    const events = await waitFor(async () => {
      const r = await api<{ events: Ev[] }>(`/api/profiles/${profile.id}/events?limit=200`);
      const names = r.body.events.map((e) => e.name);
      return names.includes('order_placed') && names.includes('add_to_cart') && names.includes('page_view')
        ? r.body.events
        : null;
    }, 'the order, the add-to-cart and the page views on the profile');
    const order = events.find((e) => e.name === 'order_placed')!;
    expect(order.properties).toMatchObject({
      orderId,
      orderTotal: 548,
      items: [{ name: 'T-Shirt', sku: 'TSHIRT001', amount: 499, tax: 49, discount: 0 }],
      shippingAddress: { street: '123 Main St', city: 'Kolkata', postcode: '700001', country: 'IN' },
    });
    expect(events.find((e) => e.name === 'add_to_cart')!.properties).toMatchObject({
      productId: 'TSHIRT001',
      price: 499,
    });
    // the App Router's client-side navigations were page views too
    const urls = events.filter((e) => e.name === 'page_view').map((e) => new URL(String(e.properties.url)).pathname);
    expect(urls).toEqual(expect.arrayContaining(['/', '/product/TSHIRT001', '/cart']));
    expect(problems).toEqual([]);
  });
});
