import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openUrl } from '../src/campaigns/open-pixel.js';
import { SCANNER_WINDOW_MS } from '../src/campaigns/tracked-links.js';
import { loadSigningSecret } from '../src/campaigns/unsubscribe-links.js';
import { adminCall } from './helpers/admin.js';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const GMAIL = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const PIXEL_IN = /<img src="([^"]+\/o\/[^"]+\.gif)" width="1" height="1"/;

describe('the open pixel of campaign and flow e-mails (real SMTP server, Redis and MongoDB-wire server)', {
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
  /** A collector URL of a received message, on the test app's real port (its public URL names port 0). */
  const onTestApp = (url: string) => {
    const u = new URL(url.replaceAll('&amp;', '&'));
    return `${t.url}${u.pathname}${u.search}`;
  };
  const results = async (path: string) => {
    const res = await admin('GET', path);
    expect(res.status).toBe(200);
    return res.body;
  };
  const load = (url: string, userAgent: string) => fetch(url, { headers: { 'user-agent': userAgent } });
  let segmentId = '';
  let annId = '';

  /** A broadcast to the segment, sent; answers its id and ann's message. */
  const broadcast = async (name: string, subject: string) => {
    const created = await admin('POST', '/api/campaigns', {
      name,
      segmentId,
      subject,
      body: 'Hi {{profile.email}}, the sale: https://shop.test/sale',
    });
    expect(created.status).toBe(201);
    expect((await admin('POST', `/api/campaigns/${created.body.id}/send`, {})).status).toBe(200);
    const annMail = await waitFor(
      () => smtp.mails.find((m) => m.to.includes(mail('ann')) && m.decoded.includes(`Subject: ${subject}`)),
      60_000,
      `ann's ${subject}`,
    );
    await waitFor(
      () => smtp.mails.find((m) => m.to.includes(mail('bob')) && m.decoded.includes(`Subject: ${subject}`)),
      60_000,
      `bob's ${subject}`,
    );
    return { id: String(created.body.id), annMail };
  };
  let tracked = { id: '', pixel: '' };

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
    segmentId = segment.body.id;
    await waitFor(async () => (await admin('GET', `/api/segments/${segmentId}`)).body.count === 2, 60_000);
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('off by default: the messages carry no pixel and the results no opens', async () => {
    expect((await admin('GET', '/api/site')).body.emailOpenTracking).toBe(false);
    const { id, annMail } = await broadcast('Quiet', 'No pixel');
    expect(annMail.decoded).not.toMatch(/\/o\/[\w-]+\.[\w-]+\.gif/);
    expect(annMail.decoded).not.toContain('<img');
    const r = await results(`/api/campaigns/${id}/results`);
    expect(r.sent).toBe(2);
    expect(r).not.toHaveProperty('opened');
    expect(r).not.toHaveProperty('openers');
  });

  it('a site turns it on (a boolean, refused otherwise); its messages then carry the pixel in the HTML part only', async () => {
    const refused = await admin('PATCH', '/api/site', { emailOpenTracking: 'yes' });
    expect(refused.status).toBe(400);
    expect((await admin('GET', '/api/site')).body.emailOpenTracking).toBe(false);
    const on = await admin('PATCH', '/api/site', { emailOpenTracking: true });
    expect(on.status).toBe(200);
    expect(on.body.emailOpenTracking).toBe(true);

    const { id, annMail } = await broadcast('Loud', 'With pixel');
    const found = PIXEL_IN.exec(annMail.decoded);
    expect(found).not.toBeNull();
    // once: the HTML part has it, the text part has no image
    expect(annMail.decoded.match(/\/o\/[\w-]+\.[\w-]+\.gif/g)).toHaveLength(1);
    tracked = { id, pixel: onTestApp(found![1]!) };
    expect(await results(`/api/campaigns/${id}/results`)).toMatchObject({
      sent: 2,
      opened: 0,
      openers: 0,
      suspectOpens: 0,
    });
    // a preview shows the message without it (only the real sending tracks)
    expect((await admin('GET', `/api/campaigns/${id}/preview`)).body.html).not.toContain('/o/');
  });

  it('a load is an email_open on the profile; Apple’s proxy, robots and loads within seconds of sending are flagged and counted apart', async () => {
    // a pixel made this instant (as the sending makes them), for ann, by this campaign: a scanner's load on delivery
    const secret = await loadSigningSecret(t.app.models, t.config);
    const fresh = openUrl({ publicUrl: t.url }, secret, {
      siteId: t.site.siteId,
      profileId: annId,
      source: { kind: 'campaign', id: tracked.id, name: 'Loud' },
      sentAt: Date.now(),
    });
    const early = await load(fresh, BROWSER);
    expect(early.status).toBe(200);

    const sentAt = JSON.parse(
      Buffer.from(new URL(tracked.pixel).pathname.slice('/o/'.length).split('.')[0]!, 'base64url').toString(),
    ).t as number;
    await waitFor(() => Date.now() > sentAt + SCANNER_WINDOW_MS + 200, SCANNER_WINDOW_MS + 10_000, 'past the window');
    const opened = await load(tracked.pixel, BROWSER);
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('image/gif');
    expect(opened.headers.get('cache-control')).toContain('no-store');
    expect((await opened.arrayBuffer()).byteLength).toBe(43);
    expect((await load(tracked.pixel, GMAIL)).status).toBe(200); // Gmail's proxy loads it when the reader opens
    expect((await load(tracked.pixel, 'Mozilla/5.0')).status).toBe(200); // Apple's Mail Privacy Protection
    expect((await load(tracked.pixel, 'Barracuda Sentinel (EE)')).status).toBe(200); // a mail security scanner

    // an altered pixel (another campaign) is refused and records nothing
    const path = new URL(tracked.pixel).pathname.slice('/o/'.length);
    const [payload, sig] = path.split('.');
    const other = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), i: '0'.repeat(24) }),
    ).toString('base64url');
    expect((await load(`${t.url}/o/${other}.${sig}.gif`, BROWSER)).status).toBe(403);
    // nor a path that is no pixel
    expect((await load(`${t.url}/o/${payload}.${sig}`, BROWSER)).status).toBe(403);

    const opens = await waitFor(
      async () => {
        const found = await t.db.collection('events').find({ name: 'email_open' }).toArray();
        return found.length === 5 && found;
      },
      60_000,
      'five email_open events',
    );
    expect(new Set(opens.map((o) => String(o.profileId)))).toEqual(new Set([annId]));
    expect(opens.every((o) => o.properties.campaignId === tracked.id)).toBe(true);
    expect(opens.map((o) => o.properties.suspect ?? 'a person').sort()).toEqual([
      'a person',
      'a person',
      'privacy-proxy',
      'scanner-agent',
      'scanner-timing',
    ]);
    expect(await results(`/api/campaigns/${tracked.id}/results`)).toMatchObject({
      sent: 2,
      opened: 2,
      openers: 1,
      suspectOpens: 3,
      clicks: 0,
    });
  });

  it('a flow’s e-mail carries the pixel too, and an open counts for its step', async () => {
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
    const pixel = onTestApp(PIXEL_IN.exec(reminder.decoded)![1]!);
    const sentAt = JSON.parse(
      Buffer.from(new URL(pixel).pathname.slice('/o/'.length).split('.')[0]!, 'base64url').toString(),
    ).t as number;
    await waitFor(() => Date.now() > sentAt + SCANNER_WINDOW_MS + 200, SCANNER_WINDOW_MS + 10_000, 'past the window');
    expect((await load(pixel, BROWSER)).status).toBe(200);
    const r = await waitFor(
      async () => {
        const x = await results(`/api/triggers/${trigger.body.id}/results`);
        return x.opened === 1 && x;
      },
      60_000,
      'the flow’s open',
    );
    expect(r).toMatchObject({ sent: 1, opened: 1, openers: 1, suspectOpens: 0 });
    expect(r.steps).toEqual([expect.objectContaining({ step: 1, sent: 1, opened: 1, openers: 1 })]);
    const event = await waitFor(
      () => t.db.collection('events').findOne({ name: 'email_open', 'properties.flowId': trigger.body.id }),
      60_000,
      'the flow’s email_open',
    );
    expect(event.properties.step).toBe(1);
  });
});
