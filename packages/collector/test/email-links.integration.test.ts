import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickUrl, SCANNER_WINDOW_MS } from '../src/campaigns/tracked-links.js';
import { loadSigningSecret } from '../src/campaigns/unsubscribe-links.js';
import { adminCall } from './helpers/admin.js';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

describe('tracked links of campaign and flow e-mails (real SMTP server, Redis and MongoDB-wire server)', {
  timeout: 180_000,
}, () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const run = randomUUID().slice(0, 8);
  const mail = (who: string) => `${who}-${run}@example.com`;
  const server = async (batch: Array<Record<string, unknown>>) =>
    expect((await admin('POST', '/api/track/server-event', { batch })).status).toBe(202);
  const order = (who: string, orderTotal: number, timestamp?: string) => ({
    event: 'order_placed',
    orderId: `${who}-${randomUUID()}`,
    profile: { email: mail(who) },
    items: [{ name: 'Mug', sku: 'MUG-1', amount: orderTotal, tax: 0, discount: 0 }],
    orderTotal,
    currency: 'EUR',
    ...(timestamp ? { timestamp } : {}),
  });
  /** The links a received message carries, on the test app's real port (its public URL names port 0). */
  const linksIn = (text: string) =>
    [...text.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => {
      const u = new URL(m[0]);
      return u.host === '127.0.0.1:0' ? `${t.url}${u.pathname}${u.search}` : m[0];
    });
  /** When the message of a tracked link was handed to SMTP (the token's own time). */
  const sentAtOf = (link: string) =>
    JSON.parse(Buffer.from(new URL(link).pathname.slice('/r/'.length).split('.')[0]!, 'base64url').toString())
      .t as number;
  const pastScannerWindow = (link: string) =>
    waitFor(() => Date.now() > sentAtOf(link) + SCANNER_WINDOW_MS + 200, SCANNER_WINDOW_MS + 10_000, 'past the window');
  const click = (link: string, userAgent?: string) =>
    fetch(link, { redirect: 'manual', headers: userAgent ? { 'user-agent': userAgent } : {} });
  const results = async (path: string) => {
    const res = await admin('GET', path);
    expect(res.status).toBe(200);
    return res.body;
  };
  let campaignId = '';
  let annId = '';
  let tracked: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestApp({ env: { SMTP_URL: smtp.url } });
    const consenting = (who: string) => ({
      event: 'identify',
      profile: { email: mail(who), consent: { email: true } },
    });
    await server([consenting('ann'), consenting('bob')]);
    const profiles = t.db.collection('profiles');
    annId = String((await waitFor(() => profiles.findOne({ email: mail('ann') }), 30_000, 'ann'))._id);
    await waitFor(() => profiles.findOne({ email: mail('bob') }), 30_000, 'bob');
    const segment = await admin('POST', '/api/segments', {
      name: 'Consenting',
      definition: { match: 'all', rules: [{ type: 'profile', field: 'consent', op: 'eq', value: true }] },
    });
    expect(segment.status).toBe(201);
    await waitFor(async () => (await admin('GET', `/api/segments/${segment.body.id}`)).body.count === 2, 60_000);
    const created = await admin('POST', '/api/campaigns', {
      name: 'Winter sale',
      segmentId: segment.body.id,
      subject: 'Sale',
      body: 'Hi {{profile.email}}, the sale: https://shop.test/sale?x=1&y=2. Our story (https://blog.test/p?utm_source=own).\nLeave: {{unsubscribeUrl}}',
    });
    expect(created.status).toBe(201);
    campaignId = created.body.id;
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('a preview shows the links as written (only the real sending tracks them)', async () => {
    const preview = await admin('GET', `/api/campaigns/${campaignId}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.body.text).toContain('https://shop.test/sale?x=1&y=2.');
    expect(preview.body.html).toContain('https://shop.test/sale?x=1&y=2.');
  });

  it('the sent message carries signed /r/ links in both parts; the unsubscribe link stays as it is', async () => {
    expect((await admin('POST', `/api/campaigns/${campaignId}/send`, {})).status).toBe(200);
    const annMail = await waitFor(() => smtp.mails.find((m) => m.to.includes(mail('ann'))), 60_000, 'ann’s mail');
    await waitFor(() => smtp.mails.find((m) => m.to.includes(mail('bob'))), 60_000, 'bob’s mail');
    const links = linksIn(annMail.decoded);
    tracked = [...new Set(links.filter((l) => new URL(l).pathname.startsWith('/r/')))];
    expect(tracked).toHaveLength(2); // the sale and the story, the same in the text and the HTML part
    expect(links.filter((l) => l.includes('/r/')).length).toBe(4);
    expect(links.some((l) => l.includes('shop.test'))).toBe(false);
    expect(links.filter((l) => new URL(l).pathname === '/api/unsubscribe').length).toBeGreaterThan(0);
    expect(annMail.decoded).toMatch(/\/r\/[\w-]+\.[\w-]+\. Our story/); // the sentence's full stop stays outside
  });

  it('a click within seconds of sending is a scanner’s: redirected, recorded as suspect, not counted', async () => {
    // a link made this instant (as the sending makes them), for ann, by this campaign
    const secret = await loadSigningSecret(t.app.models, t.config);
    const fresh = clickUrl({ publicUrl: t.url }, secret, {
      siteId: t.site.siteId,
      profileId: annId,
      source: { kind: 'campaign', id: campaignId, name: 'Winter sale' },
      url: 'https://shop.test/sale?x=1&y=2',
      sentAt: Date.now(),
    });
    const res = await click(fresh, BROWSER);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).host).toBe('shop.test');
  });

  it('a person’s click is an email_click on their profile and lands with utm_* and the campaign id', async () => {
    await pastScannerWindow(tracked[0]!);
    const res = await click(tracked[0]!, BROWSER);
    expect(res.status).toBe(302);
    const landing = new URL(res.headers.get('location')!);
    expect(`${landing.origin}${landing.pathname}`).toBe('https://shop.test/sale');
    expect(Object.fromEntries(landing.searchParams)).toEqual({
      x: '1',
      y: '2',
      utm_source: 'trackmate',
      utm_medium: 'email',
      utm_campaign: 'Winter sale',
      utm_content: campaignId,
    });
    // a link with its own utm_* keeps them as written
    const own = await click(tracked[1]!, BROWSER);
    expect(own.headers.get('location')).toBe('https://blog.test/p?utm_source=own');
    // a robot agent (a link checker) after the window is a scanner too
    expect(
      (await click(tracked[0]!, 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')).status,
    ).toBe(302);
    // a HEAD checks the link without a record
    expect((await fetch(tracked[0]!, { method: 'HEAD', redirect: 'manual' })).status).toBe(302);
    const clicks = await waitFor(
      async () => {
        const found = await t.db
          .collection('events')
          .find({ name: 'email_click', profileId: { $exists: true } })
          .toArray();
        return found.length === 4 && found;
      },
      60_000,
      'four email_click events',
    );
    expect(new Set(clicks.map((c) => String(c.profileId)))).toEqual(new Set([annId]));
    expect(clicks.every((c) => c.properties.campaignId === campaignId)).toBe(true);
    expect(clicks.map((c) => c.properties.suspect ?? 'a person').sort()).toEqual([
      'a person',
      'a person',
      'scanner-agent',
      'scanner-timing',
    ]);
    expect(
      clicks
        .filter((c) => !c.properties.suspect)
        .map((c) => c.properties.url)
        .sort(),
    ).toEqual(['https://blog.test/p?utm_source=own', 'https://shop.test/sale?x=1&y=2']);
  });

  it('an altered link is refused with a 403 and records nothing', async () => {
    const link = new URL(tracked[0]!);
    const [payload, sig] = link.pathname.slice('/r/'.length).split('.');
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), u: 'https://evil.test/' }),
    ).toString('base64url');
    const res = await click(`${t.url}/r/${other}.${sig}`, BROWSER);
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect((await click(`${t.url}/r/${payload}.${sig!.slice(0, -2)}AA`, BROWSER)).status).toBe(403);
  });

  it('an order within the window after the click is credited to the campaign with its revenue, once', async () => {
    // one request, one ingest job: bob clicked nothing, and ann's order dated before her click is not the click's
    await server([
      order('bob', 70),
      order('ann', 30, new Date(Date.now() - 2 * 86_400_000).toISOString()),
      order('ann', 20),
    ]);
    const credited = await waitFor(
      async () => {
        const r = await results(`/api/campaigns/${campaignId}/results`);
        return r.orders > 0 && r;
      },
      60_000,
      'an order credited',
    );
    expect(credited).toEqual({
      sent: 2,
      failed: 0,
      clicks: 2,
      clickers: 1,
      suspectClicks: 2,
      unsubscribed: 0,
      orders: 1,
      revenueByCurrency: { EUR: 20 },
      attributionWindowDays: 5,
    });
    // the same order again (a retried webhook: the same orderId) with a new one in the same job: only the new counts
    const again = order('ann', 15);
    await server([again]);
    await waitFor(async () => (await results(`/api/campaigns/${campaignId}/results`)).orders === 2, 60_000);
    await server([again, order('ann', 5)]);
    const after = await waitFor(
      async () => {
        const r = await results(`/api/campaigns/${campaignId}/results`);
        return r.orders >= 3 && r;
      },
      60_000,
      'the third order',
    );
    expect(after).toMatchObject({ orders: 3, revenueByCurrency: { EUR: 40 } });
  });

  it('a flow’s e-mail is tracked too, with its own results', async () => {
    const trigger = await admin('POST', '/api/triggers', {
      name: 'Cart reminder',
      entryEvent: 'add_to_cart',
      delaySeconds: 1,
      action: { type: 'email', subject: 'Your cart', body: 'Back to it: https://shop.test/cart' },
    });
    expect(trigger.status).toBe(201);
    await server([{ event: 'add_to_cart', email: mail('bob'), properties: { productId: 'p1' } }]);
    const reminder = await waitFor(
      () => smtp.mails.find((m) => m.to.includes(mail('bob')) && m.decoded.includes('Your cart')),
      60_000,
      'the reminder',
    );
    const link = linksIn(reminder.decoded).find((l) => new URL(l).pathname.startsWith('/r/'))!;
    expect(link).toBeDefined();
    await pastScannerWindow(link);
    const res = await click(link, BROWSER);
    expect(new URL(res.headers.get('location')!).searchParams.get('utm_content')).toBe(trigger.body.id);
    await server([order('bob', 12)]);
    const r = await waitFor(
      async () => {
        const x = await results(`/api/triggers/${trigger.body.id}/results`);
        return x.orders === 1 && x;
      },
      60_000,
      'the flow’s order',
    );
    expect(r).toMatchObject({ sent: 1, failed: 0, clicks: 1, clickers: 1, revenueByCurrency: { EUR: 12 } });
    // the broadcast's results did not move
    expect((await results(`/api/campaigns/${campaignId}/results`)).orders).toBe(3);
  });

  it('a confirmed unsubscribe through a broadcast’s or a flow step’s link counts in its results once; opening the page counts nothing', async () => {
    const annMail = smtp.mails.find((m) => m.to.includes(mail('ann')) && m.decoded.includes('Subject: Sale'))!;
    const links = linksIn(annMail.decoded)
      .filter((l) => new URL(l).pathname === '/api/unsubscribe')
      .map((l) => l.replaceAll('&amp;', '&'));
    expect(links.length).toBeGreaterThanOrEqual(3); // the List-Unsubscribe header, the text part and the HTML part
    expect(new Set(links).size).toBe(1);
    const link = new URL(links[0]!);
    expect(link.searchParams.get('src')).toBe(`c.${campaignId}`);
    expect(annMail.decoded).toContain(`List-Unsubscribe: <${t.config.publicUrl}/api/unsubscribe${link.search}>`);
    const confirm = (url: string | URL) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    // the page (what a link scanner opens) changes and counts nothing
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('src=c.');
    expect((await results(`/api/campaigns/${campaignId}/results`)).unsubscribed).toBe(0);
    // the source is signed with the rest: a link pointed at another campaign (or a made-up step) is refused
    const other = new URL(link);
    other.searchParams.set('src', `c.${'0'.repeat(24)}`);
    expect((await confirm(other)).status).toBe(403);
    other.searchParams.set('src', 'f.zz.1');
    expect((await confirm(other)).status).toBe(403);
    expect((await t.db.collection('profiles').findOne({ email: mail('ann') }))?.consent.email).toBe(true);

    const done = await confirm(link);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('You are unsubscribed');
    expect((await t.db.collection('profiles').findOne({ email: mail('ann') }))?.consent.email).toBe(false);
    expect(await results(`/api/campaigns/${campaignId}/results`)).toMatchObject({ sent: 2, unsubscribed: 1 });
    // confirmed again (the page's button after the mail client's one-click): still one person
    expect((await confirm(link)).status).toBe(200);
    expect((await results(`/api/campaigns/${campaignId}/results`)).unsubscribed).toBe(1);

    // bob leaves through the flow's e-mail: counted for the flow and its first step, not for the broadcast
    const reminder = smtp.mails.find((m) => m.to.includes(mail('bob')) && m.decoded.includes('Your cart'))!;
    const flowLink = new URL(linksIn(reminder.decoded).find((l) => new URL(l).pathname === '/api/unsubscribe')!);
    const flowId = flowLink.searchParams.get('src')!.split('.')[1]!;
    expect(flowLink.searchParams.get('src')).toBe(`f.${flowId}.1`);
    expect((await confirm(flowLink)).status).toBe(200);
    const flow = await results(`/api/triggers/${flowId}/results`);
    expect(flow).toMatchObject({ sent: 1, unsubscribed: 1 });
    expect(flow.steps).toEqual([expect.objectContaining({ step: 1, sent: 1, unsubscribed: 1 })]);
    expect((await results(`/api/campaigns/${campaignId}/results`)).unsubscribed).toBe(1);
  });
});
