import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite } from '../src/sites/index.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

// Regression tests of the security review (issue 11): anyone holding the public write key could subscribe a
// stranger's address to a site's campaign e-mail. A browser's yes now counts only as the site configures.
describe("consent modes: what a browser's yes to e-mail counts for", () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestApp({ env: { SMTP_URL: smtp.url, TRACKMATE_JOB_BACKOFF_MS: '50' } });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const siteWith = async (mode: string) => {
    const site = await createSite(t.app.models, { name: `Shop (${mode} opt-in)`, origins: [] });
    const set = await adminCall(t.url, site.secretKey, 'PATCH', '/api/site', { consentMode: mode });
    expect(set.status).toBe(200);
    expect(set.body.consentMode).toBe(mode);
    return site;
  };
  const signUp = async (writeKey: string, email: string, consent: boolean) => {
    const event = clientEvent({ name: 'identify', anonymousId: `v-${email}`, properties: { email, consent } });
    expect((await postEvents(t.url, { writeKey, batch: [event] })).status).toBe(202);
    return waitFor(() => t.db.collection('events').findOne({ messageId: event.messageId }), 15_000, 'the identify');
  };
  const profileOf = (email: string) => t.db.collection('profiles').findOne({ email });

  it('double opt-in: a yes from a browser sends a confirmation e-mail, and only its link gives consent', async () => {
    const site = await siteWith('double');
    const email = `double-${Date.now()}@example.com`;
    const stored = await signUp(site.writeKey, email, true);
    expect(stored.flags).toEqual(['consent_requested']);
    expect((await profileOf(email))?.consent.email).toBe(false);

    const mail = await waitFor(() => smtp.mails.find((m) => m.to.includes(email)), 15_000, 'the confirmation e-mail');
    expect(mail.decoded).toContain('Subject: Please confirm your subscription to Shop (double opt-in)');
    const link = /Confirm: (http\S+)/.exec(mail.decoded)?.[1];
    expect(link).toBeDefined();
    const path = new URL(link!).pathname + new URL(link!).search;

    // a mail scanner that opens the link gives no consent: the page only shows a button
    const page = await fetch(`${t.url}${path}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<button type="submit">');
    expect((await profileOf(email))?.consent.email).toBe(false);
    // a forged link is refused
    const forged = await fetch(`${t.url}${path.replace(/sig=[^&]+/, 'sig=AAAA')}`, { method: 'POST' });
    expect(forged.status).toBe(403);
    expect((await profileOf(email))?.consent.email).toBe(false);

    // as the page's button posts it: a form
    const confirm = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(confirm.status).toBe(200);
    const confirmed = await profileOf(email);
    expect(confirmed?.consent).toMatchObject({ email: true, source: 'confirmation' });
    // a later browser "no" does not undo a confirmation, but an unsubscribe would (standing sources)
    expect(confirmed?.consentHistory.map((h: { source: string }) => h.source)).toContain('confirmation');

    // one e-mail per request, even with the job retried or the event sent again
    await signUp(site.writeKey, email, true);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(smtp.mails.filter((m) => m.to.includes(email) && m.decoded.includes('Please confirm'))).toHaveLength(1);
  });

  // Regression (issue 22): each sign-up with a new messageId sent one confirmation, and one request could carry
  // 500 of them to any address
  it('double opt-in cannot mail-bomb: one e-mail per address and site per cooldown, a daily cap, refusals in /metrics', async () => {
    const refused = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const count = (reason: string) =>
        Number(
          new RegExp(`trackmate_consent_confirmations_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ??
            0,
        );
      return { cooldown: count('cooldown'), dailyCap: count('daily_cap') };
    };
    const mailsTo = (email: string) =>
      smtp.mails.filter((m) => m.to.includes(email) && m.decoded.includes('Please confirm'));
    const before = await refused();
    const victim = `victim-${Date.now()}@example.com`;
    const first = await siteWith('double');
    const burst = Array.from({ length: 500 }, () =>
      clientEvent({ name: 'identify', anonymousId: 'v-bomb', properties: { email: victim, consent: true } }),
    );
    expect((await postEvents(t.url, { writeKey: first.writeKey, batch: burst })).status).toBe(202);
    await waitFor(() => mailsTo(victim).length >= 1, 15_000, 'the confirmation e-mail');
    // a second request right after: within the cooldown, so refused and counted
    const again = clientEvent({
      name: 'identify',
      anonymousId: 'v-bomb',
      properties: { email: victim, consent: true },
    });
    expect((await postEvents(t.url, { writeKey: first.writeKey, batch: [again] })).status).toBe(202);
    await waitFor(async () => (await refused()).cooldown > before.cooldown, 15_000, 'a cooldown refusal');
    expect(mailsTo(victim)).toHaveLength(1);

    // other sites of the installation: the address gets 3 a day in all (TRACKMATE_CONFIRM_DAILY_CAP), then no more
    for (let i = 0; i < 3; i++) await signUp((await siteWith('double')).writeKey, victim, true);
    await waitFor(async () => (await refused()).dailyCap > before.dailyCap, 15_000, 'a daily-cap refusal');
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(victim)).toHaveLength(3);
    const stats = await refused();
    expect(stats.cooldown - before.cooldown).toBe(1);
    expect(stats.dailyCap - before.dailyCap).toBe(1);
  });

  it('server-only consent: a yes from a browser is ignored (no consent, no e-mail); a backend yes counts', async () => {
    const site = await siteWith('server');
    const email = `server-only-${Date.now()}@example.com`;
    const stored = await signUp(site.writeKey, email, true);
    expect(stored.flags).toEqual(['consent_ignored']);
    expect((await profileOf(email))?.consent.email).toBe(false);
    // a backend's yes counts
    const res = await fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'identify', profile: { email, consent: { email: true } } }),
    });
    expect(res.status).toBe(202);
    await waitFor(async () => (await profileOf(email))?.consent.email === true, 15_000, 'the backend consent');
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);
  });

  it('single opt-in (the default) keeps counting a browser yes at once; a bad mode is a 400', async () => {
    const site = await createSite(t.app.models, { name: 'Single shop', origins: [] });
    expect((await adminCall(t.url, site.secretKey, 'GET', '/api/site')).body.consentMode).toBe('single');
    const email = `single-${Date.now()}@example.com`;
    await signUp(site.writeKey, email, true);
    await waitFor(async () => (await profileOf(email))?.consent.email === true, 15_000, 'the consent');
    const bad = await adminCall(t.url, site.secretKey, 'PATCH', '/api/site', { consentMode: 'triple' });
    expect(bad.status).toBe(400);
  });
});
