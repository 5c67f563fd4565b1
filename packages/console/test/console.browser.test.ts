/**
 * The console in real Chromium, in front of the real collector (Redis, MongoDB-wire server): a site owner signs
 * in with the secret key, watches events arrive, finds and erases a person, creates a trigger, operates
 * webhooks and dead letters, and every page is photographed at 1,440 and 360 px (packages/console/test-artifacts).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { MongoClient, ObjectId } from 'mongodb';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
let context: BrowserContext;
let page: Page;
let mongo: MongoClient;
const problems: string[] = [];
const run = randomUUID().slice(0, 8);
const email = `jane-${run}@example.com`;

const DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const PHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';

const api = <T = unknown>(method: string, path: string, body?: unknown) =>
  admin<T>(collector.url, site.secretKey, method, path, body);

async function track(events: Array<Record<string, unknown>>) {
  const res = await fetch(`${collector.url}/api/track/event`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ writeKey: site.writeKey, sentAt: new Date().toISOString(), batch: events }),
  });
  expect(res.status).toBe(202);
}

const clientEvent = (name: string, properties: Record<string, unknown>, anonymousId = `visitor-${run}`) => ({
  messageId: randomUUID(),
  name,
  timestamp: new Date().toISOString(),
  anonymousId,
  sessionId: `session-${run}`,
  properties,
});

/** Both widths; the narrow one must not scroll sideways; every field has a label, every page one h1. */
async function screenshots(name: string) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLInputElement>('input:not([type=hidden]), select, textarea')]
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
      .map((el) => el.name || el.id),
  );
  expect(unlabelled, `${name}: fields without a label`).toEqual([]);
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

const go = async (path: string) => {
  const res = await page.goto(`${consoleApp.url}${path}`);
  expect(res?.status(), `GET ${path}`).toBeLessThan(400);
};

beforeAll(async () => {
  ensureBuilt('packages/console');
  env = isolatedEnv();
  collector = await startCollector(env);
  site = createSite(env, 'https://shop.test');
  consoleApp = await startConsole(collector.url);
  mongo = new MongoClient(env.MONGODB_URI!);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => r.status() >= 500 && problems.push(`HTTP ${r.status()} ${r.url()}`));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await consoleApp?.stop();
  await collector?.stop();
  await mongo
    ?.db()
    .dropDatabase()
    .catch(() => {});
  await mongo?.close();
  await removeRedisKeys(env.REDIS_URL!, env.TRACKMATE_QUEUE_PREFIX!);
});

describe('console (Chromium, real collector)', { timeout: 60_000 }, () => {
  it('sends a signed-out visitor to sign-in, refuses a wrong key, and keeps the right one in an httpOnly cookie', async () => {
    const first = await page.goto(`${consoleApp.url}/`);
    expect(first?.headers()['x-frame-options']).toBe('DENY'); // never framed: erase and rotate are one click away
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await screenshots('sign-in');

    await page.getByLabel('Secret key').fill('sk_not_a_real_key_0000000000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.locator('.error[role="alert"]').textContent())
      .toContain('does not know this secret key');

    await page.getByLabel('Secret key').fill(site.secretKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${consoleApp.url}/`);
    const cookie = (await context.cookies()).find((c) => c.name === 'tm_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('sk_');
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain('sk_');
    // a new site: the overview tells what to do first
    await expect.poll(() => page.locator('text=No events yet').count()).toBe(1);
    expect(await page.locator('pre[data-snippet="tag"]').textContent()).toContain(site.writeKey);
    await page.locator('.u-wrap canvas').first().waitFor({ timeout: 15_000 });
    await screenshots('overview-empty');
  });

  it('live events: events sent a moment earlier appear without reloading, newest first, and filter by name', async () => {
    await go('/events');
    await expect.poll(() => page.locator('text=Waiting for the first event').count()).toBe(1);
    const url = `https://shop.test/product/${run}`;
    await track([
      clientEvent('page_view', { url, referrer: '', title: 'Product' }),
      clientEvent('add_to_cart', { productId: `sku-${run}`, quantity: 1, price: 499 }),
    ]);
    // the page refreshes itself every 3 s
    await page.locator(`text=productId: sku-${run}`).waitFor({ timeout: 20_000 });
    await page.locator(`text=url: ${url}`).waitFor();
    const names = await page
      .locator('tr[data-event]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')));
    expect(names).toEqual(['add_to_cart', 'page_view']);
    await page.locator(`text=productId: sku-${run}`).click();
    expect(await page.locator('pre').first().textContent()).toContain(`"messageId"`);
    await screenshots('events');

    await page.getByLabel('Event name').fill('page_view');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/name=page_view/);
    expect(
      await page.locator('tr[data-event]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event'))),
    ).toEqual(['page_view']);
  });

  it('overview: figures with their change, a chart per figure, breakdowns; clicking a source filters every panel and the URL reproduces the view', async () => {
    const order = {
      event: 'order_placed',
      orderId: `order-${run}`,
      profile: { firstName: 'Jane', lastName: 'Doe', email, phone: '+911234567890' },
      items: [{ name: 'T-Shirt', sku: 'TSHIRT001', amount: 499, tax: 49, discount: 0 }],
      orderTotal: 548,
      currency: 'INR',
      timestamp: new Date().toISOString(),
    };
    const res = await fetch(`${collector.url}/api/track/server-event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.secretKey}` },
      body: JSON.stringify(order),
    });
    expect(res.status).toBe(202);
    // two visitors of two sources, from a desktop and a phone
    const browse = async (visitor: string, ua: string, referrer: string, path: string) => {
      const r = await fetch(`${collector.url}/api/track/event`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'user-agent': ua },
        body: JSON.stringify({
          writeKey: site.writeKey,
          sentAt: new Date().toISOString(),
          batch: [clientEvent('page_view', { url: `https://shop.test${path}`, referrer, title: 'Mugs' }, visitor)],
        }),
      });
      expect(r.status).toBe(202);
    };
    await browse(`search-${run}`, DESKTOP, 'https://www.google.com/', '/mugs');
    await browse(`social-${run}`, PHONE, 'https://t.co/x', '/cups');
    await waitFor(async () => {
      const b = await api<{ rows: Array<{ value: string }> }>('GET', '/api/stats/breakdown?dimension=channel');
      const a = await api<{ results: { orders: number } }>('GET', '/api/stats/aggregate');
      return b.body.rows.some((r) => r.value === 'Organic Social') && a.body.results.orders === 1;
    }, 'both visits and the order in the stats');

    await go('/');
    await page.locator('.u-wrap canvas').first().waitFor({ timeout: 15_000 }); // uPlot drew
    const card = (metric: string) => page.locator(`a.card[data-metric="${metric}"]`).textContent();
    expect(await card('orders')).toMatch(/Orders1/);
    expect(await card('revenue')).toMatch(/RevenueINR 548\.00/); // per currency, never added across currencies
    expect(await card('visitors')).toMatch(/Unique visitors[1-9]/);
    expect(await page.locator('[data-realtime]').textContent()).toMatch(/[1-9]\d* visitors? now/);
    const panel = (id: string) => page.locator(`section[data-panel="${id}"]`);
    const rows = (id: string) =>
      panel(id)
        .locator('tr[data-row]')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-row')));
    expect(await rows('sources')).toEqual(expect.arrayContaining(['Organic Search', 'Organic Social']));
    expect(await rows('pages')).toEqual(expect.arrayContaining(['/mugs', '/cups']));
    expect(await rows('devices')).toEqual(expect.arrayContaining(['desktop', 'mobile']));
    await screenshots('overview');

    // a card switches the chart, from the keyboard too
    await page.locator('a.card[data-metric="bounceRate"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/metric=bounceRate/);
    expect(await page.locator('a.card[aria-current="true"]').getAttribute('data-metric')).toBe('bounceRate');

    // clicking a source filters the whole dashboard
    await panel('sources').locator('tr[data-row="Organic Social"] a').click();
    await page.waitForURL(/filters=channel%3D%3DOrganic(\+|%20)Social/);
    await page.locator('[data-filter="channel==Organic Social"]').waitFor();
    expect(await rows('sources')).toEqual(['Organic Social']);
    expect(await rows('pages')).toEqual(['/cups']);
    expect(await rows('devices')).toEqual(['mobile']);
    expect(await card('visitors')).toMatch(/Unique visitors1/);
    await screenshots('overview-filtered');

    // the URL alone reproduces the view: a fresh tab of the same session shows the same filtered panels
    const shared = page.url();
    const other = await context.newPage();
    await other.goto(shared);
    expect(
      await other
        .locator('section[data-panel="pages"] tr[data-row]')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-row'))),
    ).toEqual(['/cups']);
    expect(await other.locator('a.card[aria-current="true"]').getAttribute('data-metric')).toBe('bounceRate');
    await other.close();

    // a panel's CSV export holds its rows
    const csv = await page.evaluate(async () => {
      const a = document.querySelector<HTMLAnchorElement>('section[data-panel="pages"] a[download]')!;
      return (await fetch(a.href)).text();
    });
    expect(csv.split('\n')[0]).toMatch(/^page,visitors,visits,pageviews/);
    expect(csv).toContain('/cups,1,1,1');

    // removing the filter brings every source back
    await page.locator('[data-filter="channel==Organic Social"]').click();
    await page.waitForURL((u) => !u.search.includes('filters='));
    expect(await rows('sources')).toEqual(expect.arrayContaining(['Organic Search', 'Organic Social']));

    await page.getByLabel('From', { exact: true }).fill('2026-01-01');
    await page.getByLabel('To', { exact: true }).fill('2026-01-31');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/from=2026-01-01&to=2026-01-31/);
    expect(await panel('pages').textContent()).toContain('Nothing in these days');
  });

  it('share link: a fresh browser with no session sees the aggregate figures and filters them; revoked, the link is gone', async () => {
    const made = await api<{ id: string; key: string }>('POST', '/api/site/stats-keys', {
      kind: 'link',
      label: 'Team',
    });
    expect(made.status).toBe(201);
    const visitor = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const shared = await visitor.newPage();
    const res = await shared.goto(`${consoleApp.url}/share/${made.body.key}`);
    expect(res?.status()).toBe(200);
    expect(new URL(shared.url()).pathname).toBe(`/share/${made.body.key}`); // no sign-in asked
    expect(await shared.locator('a.card[data-metric="orders"]').textContent()).toMatch(/Orders1/);
    await shared.locator('section[data-panel="sources"] tr[data-row="Organic Search"] a').click();
    await shared.waitForURL(/\/share\/.*filters=channel%3D%3DOrganic(\+|%20)Search/);
    expect(
      await shared
        .locator('section[data-panel="pages"] tr[data-row]')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-row'))),
    ).toEqual(['/mugs']);
    const text = (await shared.locator('body').textContent()) ?? '';
    expect(text).not.toContain(email); // no profiles, events or e-mail addresses
    expect(await shared.locator('a[download]').count()).toBe(0);
    await shared.screenshot({ path: join(ARTIFACTS, 'share-1440.png'), fullPage: true });
    expect((await api('DELETE', `/api/site/stats-keys/${made.body.id}`)).status).toBe(204);
    const gone = await shared.goto(`${consoleApp.url}/share/${made.body.key}`);
    expect(gone?.status()).toBe(404);
    await visitor.close();
  });

  it('profiles: find by e-mail, consent history and timeline, export, and erase after typing the e-mail', async () => {
    await go('/profiles');
    await page.getByLabel('E-mail address, or its start').fill(`JANE-${run}`);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('link', { name: email }).click();
    await page.waitForURL(/\/profiles\/[0-9a-f]{24}$/);
    const profileId = page.url().split('/').pop()!;
    await expect
      .poll(() => page.locator('section[aria-labelledby="timeline"]').textContent())
      .toContain('order_placed');
    expect(await page.locator('section[aria-labelledby="consent"]').textContent()).toMatch(
      /No consent decision|server/,
    );
    await screenshots('profile');

    const exported = await page.request.get(`${consoleApp.url}/profiles/${profileId}/export`);
    expect(exported.headers()['content-disposition']).toContain('attachment');
    expect((await exported.json()).profile.email).toBe(email);

    await page.getByRole('button', { name: 'Erase this person…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(`Type ${email} to confirm`).fill('someone-else@example.com');
    await dialog.getByRole('button', { name: 'Erase for ever' }).click();
    await expect.poll(() => dialog.locator('.error[role="alert"]').textContent()).toContain('exactly');
    expect((await api('GET', `/api/profiles/${profileId}`)).status).toBe(200);

    await dialog.getByLabel(`Type ${email} to confirm`).fill(email);
    await dialog.getByRole('button', { name: 'Erase for ever' }).click();
    await page.waitForURL(/\/profiles\?erased=/);
    expect(await page.locator('.success[role="status"]').textContent()).toContain(`${email} was erased`);
    expect((await api('GET', `/api/profiles/${profileId}`)).status).toBe(404);
    const gone = await page.goto(`${consoleApp.url}/profiles/${profileId}`);
    expect(gone?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('Not found');
    await screenshots('profiles');
  });

  it('flows: creates the abandoned-cart trigger from the form, edits it, and lists it', async () => {
    await go('/flows');
    expect(await page.locator('text=No flows yet').count()).toBe(1);
    await screenshots('flows-empty');
    await page.getByRole('link', { name: 'New abandoned-cart trigger' }).click();
    await page.waitForURL(/\/flows\/new$/);
    await page.getByLabel('Wait (minutes)').fill('30');
    await screenshots('flow-new');
    await page.getByRole('button', { name: 'Create trigger' }).click();
    await page.waitForURL(/\/flows\/[0-9a-f]{24}\?created=1$/);
    const { body } = await api<{ triggers: Array<Record<string, unknown>> }>('GET', '/api/triggers');
    expect(body.triggers).toHaveLength(1);
    expect(body.triggers[0]).toMatchObject({
      name: 'Abandoned cart',
      entryEvent: 'add_to_cart',
      exitEvents: ['order_placed'],
      delaySeconds: 1800,
      action: { type: 'email' },
    });
    await page.getByLabel('Name', { exact: true }).fill('Abandoned cart, 45 min');
    await page.getByLabel('Wait (minutes)').fill('45');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('text=Saved.').count()).toBe(1);
    expect(
      (await api<{ triggers: Array<{ delaySeconds: number }> }>('GET', '/api/triggers')).body.triggers[0]!.delaySeconds,
    ).toBe(2700);
    await screenshots('flow');
    await go('/flows');
    expect(await page.getByRole('link', { name: 'Abandoned cart, 45 min' }).count()).toBe(1);
    await screenshots('flows');
  });

  it('webhooks: subscribes an endpoint (secret shown once), sends a test POST and lists the delivery', async () => {
    const received: string[] = [];
    const { createServer } = await import('node:http');
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    }).listen(0, '127.0.0.1');
    await new Promise((r) => receiver.once('listening', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    try {
      await go('/webhooks');
      expect(await page.locator('text=No endpoints yet').count()).toBe(1);
      await page.getByLabel('URL').fill(hookUrl);
      await page.getByLabel(/^Events/).fill('order_placed');
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await expect.poll(() => page.locator('code[data-secret]').textContent()).toMatch(/^whsec_/);
      await go('/webhooks');
      await page.getByRole('link', { name: hookUrl }).click();
      await page.getByRole('button', { name: 'Send a test POST' }).click();
      await waitFor(() => received.length > 0, 'the test POST');
      expect(JSON.parse(received[0]!).type).toBe('test');
      await waitFor(async () => {
        await page.reload();
        return (await page.locator('tr[data-status="sent"]').count()) > 0;
      }, 'the delivery listed');
      await screenshots('webhook');
      await go('/webhooks');
      await screenshots('webhooks');
    } finally {
      receiver.close();
    }
  });

  it('dead letters: lists the site’s failures with the reason and replays one into the events', async () => {
    await go('/dead-letters');
    expect(await page.locator('text=Nothing failed').count()).toBe(1);
    const messageId = `dead-${run}`;
    const now = new Date().toISOString();
    await mongo
      .db()
      .collection('dead_letters')
      .insertOne({
        queue: 'ingest',
        jobId: '1',
        siteId: new ObjectId(site.siteId),
        reason: 'MongoDB was away for 3 minutes',
        attempts: 12,
        failedAt: new Date(),
        replayedAt: null,
        payload: {
          events: [
            {
              siteId: site.siteId,
              messageId,
              name: 'page_view',
              timestamp: now,
              receivedAt: now,
              anonymousId: 'visitor-dl',
              sessionId: null,
              profileId: null,
              properties: { url: 'https://shop.test/replayed', referrer: '', title: 'Replayed' },
              source: 'client',
              userAgent: null,
              ip: null,
            },
          ],
        },
      });
    await page.reload();
    expect(await page.locator('text=MongoDB was away for 3 minutes').count()).toBe(1);
    await screenshots('dead-letters');
    await page.getByRole('button', { name: 'Replay' }).click();
    await expect.poll(() => page.locator('text=Queued again').count()).toBe(1);
    await waitFor(async () => {
      const r = await api<{ events: Array<{ messageId: string }> }>('GET', '/api/events?name=page_view');
      return r.body.events.some((e) => e.messageId === messageId);
    }, 'the replayed event stored');
  });

  it('site settings: write key and snippet, adds an origin, rotates the secret key and stays signed in', async () => {
    await go('/settings');
    expect(await page.getByTestId('write-key').textContent()).toBe(site.writeKey);
    await page.getByLabel('Origin', { exact: true }).fill('https://www.shop.test');
    await page.getByRole('button', { name: 'Add origin' }).click();
    await expect
      .poll(async () => (await api<{ allowedOrigins: string[] }>('GET', '/api/site')).body.allowedOrigins)
      .toContain('https://www.shop.test');
    await screenshots('settings');

    // URL parameters: the site's own additions to the allow-list, then full URLs minus a deny-list
    await page.getByLabel('Also keep (comma-separated)').fill('Promo, variant');
    await page.getByRole('button', { name: 'Save URL rules' }).click();
    type Rules = { urlParams: { mode: string; allow: string[]; deny: string[] } };
    await expect
      .poll(async () => (await api<Rules>('GET', '/api/site')).body.urlParams)
      .toEqual({ mode: 'allow', allow: ['promo', 'variant'], deny: [] });
    // the first save has answered (and the form was reset to the saved values) before the next change
    await expect.poll(() => page.locator('form[aria-label="URL parameters"] .success').count()).toBe(1);
    await page.getByLabel(/keep full URLs/).check();
    await page.getByLabel('Never keep (comma-separated)').fill('customer');
    await page.getByRole('button', { name: 'Save URL rules' }).click();
    await expect
      .poll(async () => (await api<Rules>('GET', '/api/site')).body.urlParams)
      .toEqual({ mode: 'full', allow: ['promo', 'variant'], deny: ['customer'] });

    await page.getByRole('button', { name: 'Rotate keys…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/secret key/).check();
    await dialog.getByLabel('The old keys keep working').selectOption('0');
    await dialog.getByRole('button', { name: 'Rotate now' }).click();
    const fresh = await waitFor(
      () => dialog.locator('code[data-secret="New secret key"]').textContent(),
      'the new key',
    );
    expect(fresh).toMatch(/^sk_/);
    expect((await api('GET', '/api/site')).status).toBe(401); // the old key is gone
    site.secretKey = fresh;
    await go('/events'); // still signed in: the session holds the new key
    expect(new URL(page.url()).pathname).toBe('/events');
  });

  it('shop platforms: saves a Shopify secret (never shown again) and lists its deliveries with their outcome', async () => {
    await go('/settings');
    const shopify = page.locator('[data-platform="shopify"]');
    expect(await shopify.getByTestId('shopify-secret').textContent()).toBe('not set');
    const secret = randomBytes(32).toString('hex');
    await shopify.getByLabel('Secret', { exact: true }).fill(secret);
    await shopify.getByRole('button', { name: 'Save secret' }).click();
    await expect.poll(() => shopify.locator('.success').textContent()).toContain('Shopify secret saved');

    // Shopify delivers an order, signed with that secret, and a forged one
    const body = JSON.stringify({
      id: 1001,
      admin_graphql_api_id: 'gid://shopify/Order/1001',
      email: 'ana@example.com',
      total_price: '10.00',
      currency: 'EUR',
      line_items: [{ title: 'Mug', sku: 'MUG', price: '10.00', quantity: 1 }],
    });
    const deliver = (hmac: string) =>
      fetch(`${collector.url}/api/hooks/shopify/${site.siteId}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-hmac-sha256': hmac,
        },
        body,
      });
    expect((await deliver(createHmac('sha256', secret).update(body).digest('base64'))).status).toBe(200);
    expect((await deliver(createHmac('sha256', 'forged').update(body).digest('base64'))).status).toBe(401);

    await go('/settings');
    expect(await shopify.getByTestId('shopify-secret').textContent()).toMatch(/^set /);
    await expect.poll(() => shopify.locator('tr[data-outcome="accepted"]').count()).toBe(1);
    expect(await shopify.locator('tr[data-outcome="refused"]').textContent()).toContain('does not verify');
    expect(await page.content()).not.toContain(secret);
    await screenshots('settings-shop-platforms');
  });

  it('no page answered 5xx or threw in the browser', () => {
    expect(problems).toEqual([]);
  });

  it('with the collector down, a page says what to check and offers to try again; sign-in says it does not answer', async () => {
    await collector.stop();
    await page.goto(`${consoleApp.url}/events`);
    expect(await page.locator('h1').textContent()).toBe('This page could not be loaded');
    expect(await page.getByRole('button', { name: 'Try again' }).count()).toBe(1);
    await screenshots('collector-down');
    await context.clearCookies();
    await page.goto(`${consoleApp.url}/sign-in`);
    await page.getByLabel('Secret key').fill(site.secretKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('.error[role="alert"]').textContent()).toContain('does not answer');
  });
});
