/**
 * Segments, campaigns and flows in real Chromium in front of the real collector, with a real SMTP server (the
 * collector tests' sink): a segment is built in the builder (a refused rule first, its reason shown), its members
 * listed and exported; a broadcast is composed, previewed with a real profile's values, test-sent to one address,
 * sent, and its results page read after a click on its tracked link and an order; a broadcast paused and resumed
 * with its buttons; a flow shows its steps, its form edits every step, and an old /campaigns/<trigger id> bookmark
 * lands on the flow. The segment builder counts its rules live while they are edited.
 * Screenshots at 1,440 and 360 px (packages/console/test-artifacts).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink } from '../../collector/test/helpers/smtp-sink.js';
import {
  ARTIFACTS,
  admin,
  type Child,
  createSite,
  ensureBuilt,
  isolatedEnv,
  launchChromium,
  removeTestData,
  startCollector,
  startConsole,
  waitFor,
} from './harness.js';

const BROWSER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
/** The collector flags a click this soon after sending as a link scanner's (docs/campaigns.md). */
const SCANNER_WINDOW_MS = 10_000;

let env: Record<string, string>;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let collector: Child;
let consoleApp: Child;
let site: { siteId: string; writeKey: string; secretKey: string };
let browser: Browser;
let page: Page;
const run = randomUUID().slice(0, 8);
const mail = (who: string) => `${who}-${run}@example.com`;
const ids: Record<string, string> = {};
let segmentId = '';
let campaignId = '';

const api = <T = unknown>(method: string, path: string, body?: unknown) =>
  admin<T>(collector.url, site.secretKey, method, path, body);
const go = async (path: string) => {
  await page.goto(`${consoleApp.url}${path}`);
};

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

/** How long a check waits for a server action's answer on a loaded machine. */
const SLOW = { timeout: 30_000, interval: 250 };

/** Reloads the page until `read` answers what is expected (the collector works in the background). */
const reloadUntil = (read: () => Promise<string | null>, expected: string, timeout = 60_000) =>
  expect
    .poll(
      async () => {
        await page.reload();
        return read();
      },
      { timeout, interval: 500 },
    )
    .toBe(expected);

beforeAll(async () => {
  ensureBuilt('packages/console');
  smtp = await startSmtpSink();
  env = isolatedEnv();
  collector = await startCollector({ ...env, SMTP_URL: smtp.url });
  site = createSite(env, 'https://shop.test');
  consoleApp = await startConsole(collector.url);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  // ann and cat are VIPs, only ann and bob gave e-mail consent
  const person = (who: string, consent: boolean) => ({
    event: 'identify',
    profile: { email: mail(who), firstName: who[0]!.toUpperCase() + who.slice(1), consent: { email: consent } },
  });
  const sent = await api('POST', '/api/track/server-event', {
    batch: [person('ann', true), person('bob', true), person('cat', false)],
  });
  expect(sent.status).toBe(202);
  for (const who of ['ann', 'bob', 'cat']) {
    ids[who] = await waitFor(
      async () =>
        (await api<{ profiles: Array<{ id: string }> }>('GET', `/api/profiles/search?q=${mail(who)}`)).body.profiles[0]
          ?.id,
      `${who}'s profile`,
      30_000,
    );
  }
  for (const who of ['ann', 'cat']) {
    const tagged = await api('PATCH', `/api/profiles/${ids[who]}`, { metadata: { tags: ['vip'] } });
    expect(tagged.status).toBe(200);
  }
  await page.goto(`${consoleApp.url}/sign-in`);
  await page.getByLabel('Secret key').fill(site.secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${consoleApp.url}/`);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await consoleApp?.stop();
  await collector?.stop();
  await smtp?.close();
  if (env) await removeTestData(env);
});

describe('segments, campaigns and flows (Chromium, real collector and SMTP server)', { timeout: 180_000 }, () => {
  it('builds a segment: a refused rule shows the collector’s reason, then members are counted, listed and exported', async () => {
    await go('/segments');
    expect(await page.locator('text=No segments yet').count()).toBe(1);
    await page.getByRole('link', { name: 'New segment' }).click();
    await page.waitForURL(/\/segments\/new$/);
    await page.getByLabel('Name', { exact: true }).fill(`VIPs ${run}`);
    // a revenue rule without its currency: refused, with the reason, and nothing saved
    await page.getByLabel('Rule 1 kind').selectOption('value');
    await page.getByLabel('Rule 1 value').fill('100');
    await page.getByLabel('Rule 1 currency').fill('');
    // the live count says so already, before saving
    await expect.poll(() => page.locator('[data-live-count]').textContent(), SLOW).toContain('needs a currency');
    await page.getByRole('button', { name: 'Save segment' }).click();
    await expect.poll(() => page.locator('p.error[role=alert]').textContent(), SLOW).toContain('needs a currency');
    expect((await api<{ segments: unknown[] }>('GET', '/api/segments')).body.segments).toHaveLength(0);
    // the rule that holds: has the tag vip; the live count follows each change of the rules, nothing saved
    await page.getByLabel('Rule 1 kind').selectOption('profile');
    await page.getByLabel('Rule 1 field').selectOption('consent');
    await expect.poll(() => page.locator('[data-live-count]').getAttribute('data-live-count'), SLOW).toBe('2');
    await page.getByLabel('Rule 1 field').selectOption('tags');
    await page.getByLabel('Rule 1 value').fill('vip');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Rule 2 field').selectOption('consent');
    await expect.poll(() => page.locator('[data-live-count]').getAttribute('data-live-count'), SLOW).toBe('1');
    expect(await page.locator('[data-live-count]').textContent()).toBe('1 person matches these rules now');
    await page.getByRole('button', { name: 'Remove rule 2' }).click();
    await expect.poll(() => page.locator('[data-live-count]').getAttribute('data-live-count'), SLOW).toBe('2');
    expect((await api<{ segments: unknown[] }>('GET', '/api/segments')).body.segments).toHaveLength(0);
    await screenshots('segment-new');
    await page.getByRole('button', { name: 'Save segment' }).click();
    await page.waitForURL(/\/segments\/[0-9a-f]{24}\?created=1$/);
    segmentId = /\/segments\/([0-9a-f]{24})/.exec(page.url())![1]!;
    const saved = await api<{ definition: unknown }>('GET', `/api/segments/${segmentId}`);
    expect(saved.body.definition).toEqual({
      match: 'all',
      rules: [{ type: 'profile', field: 'tags', op: 'eq', value: 'vip' }],
    });
    await reloadUntil(() => page.locator('[data-count]').first().textContent(), '2');
    const members = await page
      .locator('tr[data-member]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-member')));
    expect(members.sort()).toEqual([mail('ann'), mail('cat')].sort());
    await screenshots('segment');
    // the CSV export, through the console with the session's key
    const csv = await page.request.get(`${consoleApp.url}/segments/${segmentId}/export`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-disposition']).toContain(`segment-${segmentId}.csv`);
    const lines = (await csv.text()).trim().split(/\r?\n/);
    expect(lines[0]).toBe('id,email,firstName,lastName,consent,country,lastSeen,orders,revenue');
    expect(
      lines
        .slice(1)
        .map((l) => l.split(',')[1])
        .sort(),
    ).toEqual([mail('ann'), mail('cat')].sort());
    // the list shows it with its count and its rules in words
    await go('/segments');
    expect(await page.locator(`tr[data-segment="VIPs ${run}"] [data-count]`).textContent()).toBe('2');
    expect(await page.locator(`tr[data-segment="VIPs ${run}"]`).textContent()).toContain('has tag vip');
    await screenshots('segments');
  });

  it('composes a broadcast, previews it as a real member, test-sends it and sends it to the consenting members', async () => {
    await go('/campaigns');
    expect(await page.locator('text=No campaigns yet').count()).toBe(1);
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.waitForURL(/\/campaigns\/new$/);
    await page.getByLabel('Name', { exact: true }).fill(`Spring sale ${run}`);
    await page.getByLabel('Send to segment').selectOption(segmentId);
    await page.getByLabel('Subject', { exact: true }).fill('{{profile.firstName}}, spring is here');
    await page
      .getByLabel('Body', { exact: true })
      .fill('Hi {{profile.firstName}},\n\n20 % off this week: https://shop.test/sale');
    await screenshots('campaign-new');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL(/\/campaigns\/[0-9a-f]{24}\?created=1$/);
    campaignId = /\/campaigns\/([0-9a-f]{24})/.exec(page.url())![1]!;

    // preview with ann's own values
    await page.getByLabel('As profile').fill(ids.ann!);
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    await page.waitForURL(/profileId=/);
    expect(await page.locator('[data-preview-subject]').textContent()).toBe('Ann, spring is here');
    expect(await page.locator('[data-preview-to]').textContent()).toBe(mail('ann'));
    expect(await page.locator('[data-preview-text]').textContent()).toContain('Hi Ann,');

    // a test to one address: the message as ann gets it, nothing recorded
    await page.getByLabel('To address').fill(mail('tester'));
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.locator(`text=Test sent to ${mail('tester')}.`).count(), SLOW).toBe(1);
    const test = await waitFor(() => smtp.mails.find((m) => m.to.includes(mail('tester'))), 'the test mail', 30_000);
    expect(test.decoded).toMatch(/Subject: \[Test\] Ann, spring is here/);
    expect((await api<{ progress: { sent: number } }>('GET', `/api/campaigns/${campaignId}`)).body.progress.sent).toBe(
      0,
    );
    await screenshots('campaign-draft');

    // send now: ann gets it, cat (no consent) is skipped, bob is not a member
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await reloadUntil(() => page.locator('[data-status]').first().getAttribute('data-status'), 'sent');
    expect(await page.locator('[data-sent]').textContent()).toBe('1');
    expect(await page.locator('[data-skipped]').textContent()).toMatch(/^1 /);
    expect(await page.locator('[data-failed]').textContent()).toBe('0');
    const delivered = smtp.mails.filter((m) => !m.to.includes(mail('tester'))).flatMap((m) => m.to);
    expect(delivered).toEqual([mail('ann')]);
    await screenshots('campaign-sent');
    await go('/campaigns');
    expect(await page.locator(`tr[data-campaign="Spring sale ${run}"] [data-status]`).textContent()).toBe('sent');
    expect(await page.locator(`tr[data-campaign="Spring sale ${run}"] [data-progress]`).textContent()).toContain(
      '1 sent, 1 skipped of 2',
    );
  });

  it('reads the results page: the click on the tracked link and the order it brought, with its revenue', async () => {
    const annMail = smtp.mails.find((m) => m.to.includes(mail('ann')))!;
    const link = [...annMail.decoded.matchAll(/https?:\/\/[^\s"'<>]+\/r\/[\w-]+\.[\w-]+/g)].map((m) => m[0])[0];
    expect(link, 'a tracked link in the message').toBeTruthy();
    const token = JSON.parse(Buffer.from(new URL(link!).pathname.slice(3).split('.')[0]!, 'base64url').toString());
    await waitFor(() => Date.now() > token.t + SCANNER_WINDOW_MS + 500, 'past the scanner window', 30_000);
    const click = await fetch(link!, { redirect: 'manual', headers: { 'user-agent': BROWSER_AGENT } });
    expect(click.status).toBe(302);
    expect(new URL(click.headers.get('location')!).searchParams.get('utm_content')).toBe(campaignId);
    await waitFor(
      async () =>
        (await api<{ clicks: number }>('GET', `/api/campaigns/${campaignId}/results`)).body.clicks === 1 || null,
      'the click counted',
      60_000,
    );
    const order = await api('POST', '/api/track/server-event', {
      event: 'order_placed',
      orderId: `o-${run}`,
      profile: { email: mail('ann') },
      items: [{ name: 'Mug', sku: 'MUG-1', amount: 30, tax: 0, discount: 0 }],
      orderTotal: 30,
      currency: 'EUR',
    });
    expect(order.status).toBe(202);

    await go(`/campaigns/${campaignId}`);
    await page.getByRole('link', { name: 'Results' }).click();
    await page.waitForURL(/\/results$/);
    const result = (k: string) => page.locator(`[data-result="${k}"]`).textContent();
    await reloadUntil(() => result('orders'), '1');
    expect(await result('sent')).toBe('1');
    expect(await result('failed')).toBe('0');
    expect(await result('clicks')).toBe('1');
    expect(await result('clickers')).toBe('1');
    expect(await result('revenue')).toBe('30.00 EUR');
    await screenshots('campaign-results');
    // and beside the campaign in the list
    await go('/campaigns');
    const listed = page.locator(`tr[data-campaign="Spring sale ${run}"]`);
    expect(await listed.locator('[data-revenue]').textContent()).toBe('30.00 EUR');
    await screenshots('campaigns');
  });

  it('schedules a campaign at a UTC time (a past one refused with the reason) and cancels it', async () => {
    const draft = await api<{ id: string }>('POST', '/api/campaigns', {
      name: `Later ${run}`,
      segmentId,
      subject: 'Later',
      body: 'Later.',
    });
    expect(draft.status).toBe(201);
    await go(`/campaigns/${draft.body.id}`);
    await page.getByLabel('at', { exact: true }).check();
    await page.getByLabel('Send at (UTC)').fill('2020-01-01T08:30');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => page.locator('p.error[role=alert]').textContent(), SLOW).toContain('That time has passed');
    const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Send at (UTC)').fill(`${day}T08:30`);
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => page.locator(`text=Scheduled for ${day} 08:30 UTC.`).count(), SLOW).toBe(1);
    const scheduled = await api<{ status: string; scheduledAt: string }>('GET', `/api/campaigns/${draft.body.id}`);
    expect(scheduled.body).toMatchObject({ status: 'scheduled', scheduledAt: `${day}T08:30:00.000Z` });
    await page.getByRole('button', { name: 'Cancel sending…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel campaign' }).click();
    await expect
      .poll(async () => (await api<{ status: string }>('GET', `/api/campaigns/${draft.body.id}`)).body.status, SLOW)
      .toBe('cancelled');
    await page.reload();
    expect(await page.locator('[data-status]').first().getAttribute('data-status')).toBe('cancelled');
  });

  it('flows: the former triggers page lists each flow with its steps, each step with what it sent and earned', async () => {
    const created = await api<{ id: string }>('POST', '/api/triggers', {
      name: `Checkout rescue ${run}`,
      entryEvent: 'checkout_started',
      delaySeconds: 0,
      exitEvents: ['order_placed'],
      action: { type: 'email', subject: 'Your checkout', body: 'Still there: https://shop.test/checkout' },
      nextSteps: [{ delaySeconds: 86_400, action: { type: 'email', subject: 'Last call', body: 'Going soon.' } }],
    });
    expect(created.status).toBe(201);
    // ann starts a checkout: step 1 is sent to her at once, step 2 waits a day
    expect(
      (await api('POST', '/api/track/server-event', { event: 'checkout_started', profile: { email: mail('ann') } }))
        .status,
    ).toBe(202);
    await waitFor(
      async () =>
        (
          await api<{ steps?: Array<{ step: number; sent: number }> }>(
            'GET',
            `/api/triggers/${created.body.id}/results`,
          )
        ).body.steps?.find((x) => x.step === 1)?.sent === 1 || null,
      'step 1 sent',
      60_000,
    );
    expect(smtp.mails.filter((m) => m.to.includes(mail('ann')) && m.decoded.includes('Your checkout'))).toHaveLength(1);
    await go('/flows');
    expect(await page.locator('h1').textContent()).toBe('Flows');
    expect(
      await page
        .getByRole('navigation', { name: 'Console' })
        .getByRole('link', { name: 'Flows' })
        .getAttribute('aria-current'),
    ).toBe('page');
    const row = page.locator(`tr[data-flow="Checkout rescue ${run}"]`);
    expect(await row.locator('[data-step]').allTextContents()).toEqual([
      'Step 1: at once after checkout_started, then e-mail “Your checkout” — sent 1, failed 0, clicks 0, unsubscribed 0, orders 0, revenue —',
      'Step 2: wait 1 d, then e-mail “Last call” — sent 0, failed 0, clicks 0, unsubscribed 0, orders 0, revenue —',
    ]);
    await row.getByRole('link', { name: `Checkout rescue ${run}` }).click();
    await page.waitForURL(/\/flows\/[0-9a-f]{24}$/);
    expect(await page.locator('[data-results] [data-step]').count()).toBe(2);
    expect(await page.locator('[data-results] dd[data-sent]').textContent()).toBe('1');
    expect(await page.locator('[data-results] dd[data-revenue]').textContent()).toBe('—');
    await screenshots('flow');

    // the form edits every step: step 2's wait and subject, and a third step added
    await page.getByLabel('Step 2 wait after step 1 (minutes)').fill('720');
    await page.getByLabel('Step 2 subject').fill('Last call, really');
    await page.getByRole('button', { name: 'Add step 3' }).click();
    await page.getByLabel('Step 3 action').selectOption('webhook');
    await page.getByLabel('Step 3 webhook URL').fill('https://user:pw@hooks.shop.test/flow');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // a bad step is refused with the collector's reason, and the typed steps stay
    await expect.poll(() => page.locator('p.error[role=alert]').textContent(), SLOW).toContain('credentials');
    expect(await page.getByLabel('Step 2 subject').inputValue()).toBe('Last call, really');
    type Steps = {
      nextSteps: Array<{ delaySeconds: number; action: { type: string; subject?: string; url?: string } }>;
    };
    expect((await api<Steps>('GET', `/api/triggers/${created.body.id}`)).body.nextSteps[0]!.action.subject).toBe(
      'Last call',
    );
    await page.getByLabel('Step 3 webhook URL').fill('https://hooks.shop.test/flow');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect
      .poll(async () => (await api<Steps>('GET', `/api/triggers/${created.body.id}`)).body.nextSteps.length, SLOW)
      .toBe(2);
    const saved = (await api<Steps>('GET', `/api/triggers/${created.body.id}`)).body.nextSteps;
    expect(saved[0]).toEqual({
      delaySeconds: 43_200,
      action: { type: 'email', subject: 'Last call, really', body: 'Going soon.' },
    });
    expect(saved[1]!.action).toMatchObject({ type: 'webhook', url: 'https://hooks.shop.test/flow', signed: true });
    await page.reload();
    expect(await page.locator('[data-results] [data-step]').count()).toBe(3);
    expect(await page.getByLabel('Step 2 subject').inputValue()).toBe('Last call, really');

    // a bookmark of the former Campaigns page of this trigger lands on its flow
    await go(`/campaigns/${created.body.id}`);
    await page.waitForURL(new RegExp(`/flows/${created.body.id}$`));
    expect(await page.locator('h1').textContent()).toBe(`Checkout rescue ${run}`);
  });

  it('pauses a sending broadcast with its Pause button and finishes it with Resume: everyone gets exactly one', async () => {
    // forty consenting people tagged bulk, sent two a second: the run is still sending when Pause is pressed
    const people = Array.from({ length: 40 }, (_, i) => mail(`bulk${i}`));
    const sent = await api('POST', '/api/track/server-event', {
      batch: people.map((email) => ({ event: 'identify', profile: { email, consent: { email: true } } })),
    });
    expect(sent.status).toBe(202);
    await waitFor(
      async () =>
        (await api<{ profiles: unknown[] }>('GET', `/api/profiles/search?q=bulk39-${run}`)).body.profiles.length ||
        null,
      'the bulk profiles',
      60_000,
    );
    const segment = await api<{ id: string }>('POST', '/api/segments', {
      name: `Bulk ${run}`,
      definition: {
        match: 'all',
        rules: [
          { type: 'profile', field: 'email', op: 'exists' },
          { type: 'profile', field: 'consent', op: 'eq', value: true },
        ],
      },
    });
    expect(segment.status).toBe(201);
    // ann and bob consent too
    await waitFor(
      async () => (await api<{ count: number }>('GET', `/api/segments/${segment.body.id}`)).body.count === 42 || null,
      'the segment counted',
      90_000,
    );
    const draft = await api<{ id: string }>('POST', '/api/campaigns', {
      name: `Bulk ${run}`,
      segmentId: segment.body.id,
      subject: 'Bulk',
      body: 'Hello {{profile.email}}',
      ratePerSecond: 2,
    });
    expect(draft.status).toBe(201);
    const received = () => smtp.mails.filter((m) => m.decoded.includes('Subject: Bulk')).flatMap((m) => m.to);
    await go(`/campaigns/${draft.body.id}`);
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await waitFor(() => received().length > 0 || null, 'the first messages', 60_000);
    await page.reload();
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await expect
      .poll(async () => (await api<{ status: string }>('GET', `/api/campaigns/${draft.body.id}`)).body.status, SLOW)
      .toBe('paused');
    await page.reload();
    expect(await page.locator('[data-status]').first().getAttribute('data-status')).toBe('paused');
    await screenshots('campaign-paused');
    // the run stops (the messages claimed before the pause still leave): fewer than everyone got one
    let before = -1;
    await waitFor(
      async () => {
        const now = received().length;
        const still = now === before;
        before = now;
        if (!still) await new Promise((r) => setTimeout(r, 2_000));
        return still || null;
      },
      'the paused run to stop',
      60_000,
    );
    expect(before).toBeLessThan(42);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await reloadUntil(() => page.locator('[data-status]').first().getAttribute('data-status'), 'sent', 120_000);
    const all = received();
    expect(all.length).toBe(42);
    expect(new Set(all).size).toBe(42);
    expect(all.filter((to) => people.includes(to)).length).toBe(40);
    expect(await page.locator('[data-sent]').textContent()).toBe('42');
  });
});
