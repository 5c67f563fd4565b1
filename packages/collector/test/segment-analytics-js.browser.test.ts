import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test/helpers/chromium.mjs';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';

/**
 * Segment's own analytics.js (analytics-next 1.84), bundled for a page and run in Chromium, sending to the
 * collector's Segment-compatible routes (`/v1/p`, `/v1/t`, `/v1/i`: text/plain, the write key in the body).
 */
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
let t: TestApp;
let browser: Browser;
let site: Server;
let origin = '';
let html = '';

beforeAll(async () => {
  const [bundle] = await Promise.all([bundleAnalyticsJs(), startPageServer()]);
  t = await startTestApp({ origins: [origin] });
  const settings = {
    integrations: {
      'Segment.io': { apiKey: t.site.writeKey, apiHost: `${new URL(t.url).host}/v1`, protocol: 'http' },
    },
  };
  html = `<!doctype html><title>Checkout</title><script>${bundle}</script><script>
    window.analytics = SegmentAnalytics.AnalyticsBrowser.load(${JSON.stringify({ writeKey: t.site.writeKey, cdnSettings: settings })});
  </script>`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.close();
  await t?.close();
});

async function bundleAnalyticsJs(): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    root: FIXTURES,
    define: { 'process.env.NODE_ENV': '"production"' },
    build: {
      write: false,
      minify: true,
      lib: { entry: `${FIXTURES}analytics-js-entry.js`, formats: ['iife'], name: 'SegmentAnalytics', fileName: 'ajs' },
    },
  });
  const chunks = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : []));
  return chunks.map((c) => ('code' in c ? c.code : '')).join('\n');
}

async function startPageServer(): Promise<void> {
  site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  }).listen(0, '127.0.0.1');
  await once(site, 'listening');
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
}

describe("Segment's analytics.js in a browser", () => {
  it('sends page, track and identify calls that the collector stores and links to the person', async () => {
    const page = await browser.newPage();
    const answers: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/v1/')) answers.push(r.status());
    });
    await page.goto(`${origin}/checkout?step=2&utm_source=mail`);
    await page.evaluate(async () => {
      const a = (window as unknown as { analytics: Record<string, (...args: unknown[]) => Promise<unknown>> })
        .analytics;
      await a.page!();
      await a.track!('Order Completed', { order_id: 'js-1', revenue: 30 });
      await a.identify!('js-user', { email: 'js@example.com', firstName: 'Jay' });
    });
    await waitFor(() => answers.length >= 3, 15_000, 'three answers');
    expect(answers).toEqual([202, 202, 202]);

    const profile = await waitFor(
      () => t.db.collection('profiles').findOne({ userId: 'js-user' }),
      15_000,
      'the profile of js-user',
    );
    // analytics.js holds the public write key: the address is the user's unverified claim, not bound to it
    expect(profile.unverifiedEmail.email).toBe('js@example.com');
    const events = t.db.collection('events');
    const stored = await waitFor(
      async () => {
        const docs = await events.find({ siteId: profile.siteId }).toArray();
        return docs.length >= 3 && docs.every((d) => d.profileId?.toString() === profile._id.toString()) && docs;
      },
      15_000,
      'three events linked to the profile',
    );
    const byName = Object.fromEntries(stored.map((d) => [d.name, d]));
    expect(byName['Order Completed']!.properties).toEqual({ order_id: 'js-1', revenue: 30 });
    // the collector keeps only allowed query parameters, whatever library sent the URL
    expect(byName.page_view!.properties).toMatchObject({
      url: `${origin}/checkout?utm_source=mail`,
      title: 'Checkout',
    });
    expect(byName.page_view!.context.library.name).toBe('analytics.js');
    expect(byName.identify!.properties).toMatchObject({ email: 'js@example.com', firstName: 'Jay' });
    await page.close();
  });
});
