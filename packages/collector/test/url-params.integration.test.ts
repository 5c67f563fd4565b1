import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite } from '../src/sites/index.js';
import { adminCall } from './helpers/admin.js';
import { CLI, clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

const run = promisify(execFile);

/** What a sign-up form sent with GET puts in the address bar (issue 22's report), plus a campaign's tags. */
const THANKS =
  'https://shop.test/thanks?email=ann%40example.com&firstName=Ann&lastName=Buyer&phone=%2B4915112345678' +
  '&password=hunter2&csrf=secret-token&utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc&promo=SPRING10';
// (whole values, not fragments such as 'ann', which stored words like `channel` contain)
const PERSONAL = [
  'ann%40example.com',
  'ann@example.com',
  'firstName',
  'Buyer',
  '4915112345678',
  'hunter2',
  'secret-token',
];

// Regression (issue 22): the SDK only masked email, phone and password; a page on an older SDK, analytics.js or
// a hand-written request stored firstName, lastName and csrf in page_view url, referrer and context.page.
describe('URLs the collector stores keep only allowed query parameters', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  const events = () => t.db.collection('events');
  const stored = (messageId: string) => waitFor(() => events().findOne({ messageId }), 15_000, messageId);
  const noPersonalData = (doc: unknown) => {
    const text = JSON.stringify(doc);
    for (const p of PERSONAL) expect(text, p).not.toContain(p);
  };

  it('by default (allow-list): only utm_*, gclid, fbclid, msclkid, ref and source stay, in url, referrer and context.page', async () => {
    const view = clientEvent({
      properties: { url: THANKS, referrer: `${THANKS}&ref=home`, title: 'Thanks' },
      context: { page: { url: THANKS, referrer: 'https://search.test/?q=ann+buyer+address' } },
    });
    const spa = clientEvent({
      properties: {
        url: 'https://shop.test/app#/orders?firstName=Ann&utm_medium=email',
        referrer: 'https://shop.test/callback#access_token=secret-token&state=Ann',
        title: 'Orders',
      },
    });
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [view, spa] });
    expect(res.status).toBe(202);
    const doc = await stored(view.messageId as string);
    expect(doc.properties.url).toBe('https://shop.test/thanks?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc');
    expect(doc.properties.referrer).toBe(
      'https://shop.test/thanks?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc&ref=home',
    );
    expect(doc.context.page.url).toBe(
      'https://shop.test/thanks?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc',
    );
    expect(doc.context.page.referrer).toBe('https://search.test/');
    noPersonalData(doc);
    const hashed = await stored(spa.messageId as string);
    expect(hashed.properties.url).toBe('https://shop.test/app#/orders?utm_medium=email');
    expect(hashed.properties.referrer).toBe('https://shop.test/callback#');
    noPersonalData(hashed);
  });

  it('cleans what analytics.js sends too (Segment page and track calls, context.page.search)', async () => {
    const anonymousId = `ajs-${randomUUID()}`;
    const page = {
      path: '/thanks',
      referrer: THANKS,
      search: new URL(THANKS).search,
      title: 'Thanks',
      url: THANKS,
    };
    const common = { anonymousId, writeKey: t.site.writeKey, context: { page }, timestamp: new Date().toISOString() };
    const p = { ...common, type: 'page', messageId: `ajs-${randomUUID()}`, properties: { ...page } };
    const tr = { ...common, type: 'track', event: 'Signed Up', messageId: `ajs-${randomUUID()}`, properties: {} };
    for (const [path, body] of [
      ['/v1/p', p],
      ['/v1/t', tr],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(202);
    }
    const pageView = await stored(p.messageId);
    expect(pageView.name).toBe('page_view');
    expect(pageView.properties.url).toBe(
      'https://shop.test/thanks?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc',
    );
    expect(pageView.properties.search).toBe('?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc');
    expect(pageView.context.page.search).toBe('?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc');
    noPersonalData(pageView);
    noPersonalData(await stored(tr.messageId));
  });

  it('cleans the no-script pixel too (its url defaults to the Referer)', async () => {
    const res = await fetch(`${t.url}/p.gif?writeKey=${t.site.writeKey}&anonymousId=px-url`, {
      headers: { referer: THANKS },
    });
    expect(res.status).toBe(200);
    const doc = await waitFor(() => events().findOne({ anonymousId: 'px-url' }), 15_000, 'the pixel event');
    expect(doc.properties.url).toBe('https://shop.test/thanks?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc');
    noPersonalData(doc);
  });

  it("a site's own additions (PATCH /api/site) and full URLs with a deny-list", async () => {
    const site = await createSite(t.app.models, { name: 'URL rules shop', origins: [] });
    const admin = (body: unknown) => adminCall(t.url, site.secretKey, 'PATCH', '/api/site', body);
    expect((await adminCall(t.url, site.secretKey, 'GET', '/api/site')).body.urlParams).toEqual({
      mode: 'allow',
      allow: [],
      deny: [],
    });
    const send = async (url: string) => {
      const e = clientEvent({ properties: { url, referrer: '', title: 'x' } });
      expect((await postEvents(t.url, { writeKey: site.writeKey, batch: [e] })).status).toBe(202);
      return (await stored(e.messageId as string)).properties.url as string;
    };

    const added = await admin({ urlParams: { allow: ['Promo'] } });
    expect(added.status).toBe(200);
    expect(added.body.urlParams).toEqual({ mode: 'allow', allow: ['promo'], deny: [] });
    expect(await send(THANKS)).toBe(
      'https://shop.test/thanks?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc&promo=SPRING10',
    );

    const full = await admin({ urlParams: { mode: 'full', deny: ['firstname', 'lastname', 'csrf'] } });
    expect(full.body.urlParams).toEqual({ mode: 'full', allow: ['promo'], deny: ['firstname', 'lastname', 'csrf'] });
    // full: everything but the deny-list and names that look secret or personal (email, phone, password)
    expect(await send(`${THANKS}&color=red`)).toBe(
      'https://shop.test/thanks?utm_source=newsletter&utm_campaign=spring&gclid=Cj0abc&promo=SPRING10&color=red',
    );

    for (const bad of [{ mode: 'some' }, { allow: ['a&b'] }, { allow: 'promo' }, { keep: ['x'] }]) {
      const res = await admin({ urlParams: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await adminCall(t.url, site.secretKey, 'GET', '/api/site')).body.urlParams.mode).toBe('full');
  });

  it('sites update --url-params sets the rules from the command line; a bad value is a clear error', async () => {
    const site = await createSite(t.app.models, { name: 'CLI URL shop', origins: [] });
    const { stdout } = await run(
      process.execPath,
      [CLI, 'sites', 'update', '--id', site.siteId, '--url-params', 'allow:promo,variant', '--json'],
      { env: { ...process.env, ...t.env } },
    );
    expect(JSON.parse(stdout).urlParams).toEqual({ mode: 'allow', allow: ['promo', 'variant'], deny: [] });
    const text = await run(
      process.execPath,
      [CLI, 'sites', 'update', '--id', site.siteId, '--url-params', 'full:customer'],
      {
        env: { ...process.env, ...t.env },
      },
    );
    expect(text.stdout).toContain('URL parameters: full, without secret-looking names and customer');
    const bad = await run(
      process.execPath,
      [CLI, 'sites', 'update', '--id', site.siteId, '--url-params', 'everything'],
      {
        env: { ...process.env, ...t.env },
      },
    ).catch((e: unknown) => e);
    expect((bad as { stderr: string }).stderr).toMatch(/--url-params must be allow\[:name,…\] or full\[:name,…\]/);
  });
});
