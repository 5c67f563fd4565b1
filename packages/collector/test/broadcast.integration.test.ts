import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { spawnCli, startTestApp, stopChild, type TestApp, waitFor } from './helpers/harness.js';
import { type ReceivedMail, startSmtpSink } from './helpers/smtp-sink.js';

/** Profiles of the broadcast's audience (TRACKMATE_TEST_BROADCAST_PEOPLE=10000 for the full size); every third has no e-mail consent. */
const PEOPLE = Number(process.env.TRACKMATE_TEST_BROADCAST_PEOPLE ?? 150);
const consents = (i: number) => i % 3 !== 0;
const address = (i: number) => `p${i}@bulk.example`;
const CONSENTING = Array.from({ length: PEOPLE }, (_, i) => i).filter(consents).length;

// The API runs without a worker; workers are separate processes, so one can really be SIGKILLed mid-send.
describe('broadcasts (real SMTP server, Redis and MongoDB-wire server)', { timeout: 600_000 }, () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let env: Record<string, string>;
  let segmentId: string;
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const campaign = async (name: string, extra: Record<string, unknown> = {}) => {
    const res = await admin('POST', '/api/campaigns', {
      name,
      segmentId,
      subject: `${name} for {{profile.firstName}}`,
      body: 'Hello {{profile.firstName}}, see {{unsubscribeUrl}}',
      ratePerSecond: 1_000,
      ...extra,
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const mailsOf = (name: string) => smtp.mails.filter((m) => m.decoded.includes(`Subject: ${name} for`));
  /** Recipients of a campaign's mails, each with how many it got. */
  const received = (mails: ReceivedMail[]) => {
    const n = new Map<string, number>();
    for (const m of mails) for (const to of m.to) n.set(to, (n.get(to) ?? 0) + 1);
    return n;
  };
  const status = async (id: string) => (await admin('GET', `/api/campaigns/${id}`)).body;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestApp({ worker: false, env: { SMTP_URL: smtp.url } });
    env = { ...t.env, SMTP_URL: smtp.url };
    const siteId = new (await import('mongodb')).ObjectId(t.site.siteId);
    const now = new Date();
    for (let i = 0; i < PEOPLE; i += 1_000) {
      await t.db.collection('profiles').insertMany(
        Array.from({ length: Math.min(1_000, PEOPLE - i) }, (_, k) => ({
          siteId,
          email: address(i + k),
          emailKey: `${t.site.siteId}|${address(i + k)}`,
          firstName: `P${i + k}`,
          consent: { email: consents(i + k) },
          consentHistory: [],
          metadata: { tags: ['bulk'] },
          anonymousIds: [],
          createdAt: now,
          updatedAt: now,
        })),
      );
    }
    const segment = await admin('POST', '/api/segments', {
      name: 'Bulk',
      definition: { match: 'all', rules: [{ type: 'profile', field: 'tags', op: 'eq', value: 'bulk' }] },
    });
    segmentId = segment.body.id;
  }, 600_000);

  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('previews with a real profile and sends a test to one address only', async () => {
    const worker = spawnCli(['worker'], env);
    try {
      await waitFor(async () => (await admin('GET', `/api/segments/${segmentId}`)).body.evaluating === false, 300_000);
      expect((await admin('GET', `/api/segments/${segmentId}`)).body.count).toBe(PEOPLE);
    } finally {
      await stopChild(worker);
    }
    const id = await campaign('Preview');
    const preview = await admin('GET', `/api/campaigns/${id}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.body.subject).toMatch(/^Preview for P\d+$/);
    expect(preview.body.text).toContain(`Hello ${preview.body.subject.split(' for ')[1]}, see http`);
    expect(preview.body.html).toContain('/api/unsubscribe?site=');
    const test = await admin('POST', `/api/campaigns/${id}/test`, { email: 'qa@shop.example' });
    expect(test.body).toEqual({ sent: true, to: 'qa@shop.example' });
    const mail = await waitFor(() => smtp.mails.find((m) => m.to.includes('qa@shop.example')), 30_000);
    expect(mail.decoded).toContain('Subject: [Test] Preview for P');
    expect(smtp.mails.filter((m) => m.decoded.includes('Preview for P'))).toHaveLength(1); // the test, no other
    // the sample profile only fills the template: the test's recipient gets no link that unsubscribes it
    expect(mail.decoded).not.toContain('/api/unsubscribe?site=');
    expect(mail.decoded).toContain('/api/unsubscribe/test-send');
    const inert = await fetch(`${t.url}/api/unsubscribe/test-send`);
    expect(inert.status).toBe(200);
    expect(await inert.text()).toContain('unsubscribes nobody');
    expect((await status(id)).status).toBe('draft');
  });

  it(`sends one mail to each of ${CONSENTING} consenting members and none to the rest, with the worker killed at 50 %`, async () => {
    const id = await campaign('Crash');
    const first = spawnCli(['worker'], env);
    expect((await admin('POST', `/api/campaigns/${id}/send`, {})).body.status).toBe('sending');
    await waitFor(() => mailsOf('Crash').length >= CONSENTING / 2, 300_000, 'half of the mails');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = mailsOf('Crash').length;
    expect(atKill).toBeLessThan(CONSENTING);
    const second = spawnCli(['worker'], env);
    try {
      await waitFor(async () => (await status(id)).status === 'sent', 300_000, 'the campaign sent');
    } finally {
      await stopChild(second);
    }
    const got = received(mailsOf('Crash'));
    const sends = t.db.collection('campaign_sends');
    const interrupted = await sends.find({ _id: { $regex: `^${id}:` }, state: 'sending' }).toArray();
    // nobody twice, nobody without consent
    expect([...got.values()].filter((n) => n > 1)).toEqual([]);
    for (let i = 0; i < PEOPLE; i++) if (!consents(i)) expect(got.has(address(i))).toBe(false);
    // everyone consenting got theirs, except messages in flight when the worker died, which are never sent again
    const missing = Array.from({ length: PEOPLE }, (_, i) => i).filter((i) => consents(i) && !got.has(address(i)));
    expect(missing.length).toBeLessThanOrEqual(interrupted.length);
    expect(interrupted.length).toBeLessThanOrEqual(16);
    const final = await status(id);
    expect(final.progress.skipped).toBe(PEOPLE - CONSENTING);
    expect(final.progress.sent + final.progress.inFlight).toBe(CONSENTING);
  });

  it('sends exactly one mail to each consenting member when paused half-way and resumed', async () => {
    const id = await campaign('Pause', { ratePerSecond: 500 });
    const worker = spawnCli(['worker'], env);
    try {
      expect((await admin('POST', `/api/campaigns/${id}/send`, {})).status).toBe(200);
      await waitFor(() => mailsOf('Pause').length >= CONSENTING / 2, 300_000, 'half of the mails');
      expect((await admin('POST', `/api/campaigns/${id}/pause`)).body.status).toBe('paused');
      // the run stops within a page: the count stands still
      let last = -1;
      await waitFor(
        async () => {
          const n = mailsOf('Pause').length;
          const still = n === last;
          last = n;
          await new Promise((r) => setTimeout(r, 1_500));
          return still;
        },
        60_000,
        'the run to stop',
      );
      expect(last).toBeLessThan(CONSENTING);
      expect((await admin('POST', `/api/campaigns/${id}/pause`)).status).toBe(409);
      expect((await admin('POST', `/api/campaigns/${id}/resume`)).body.status).toBe('sending');
      await waitFor(async () => (await status(id)).status === 'sent', 300_000, 'the campaign sent');
    } finally {
      await stopChild(worker);
    }
    const got = received(mailsOf('Pause'));
    expect(got.size).toBe(CONSENTING);
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    for (let i = 0; i < PEOPLE; i++) expect(got.has(address(i))).toBe(consents(i));
    const final = await status(id);
    expect(final.progress).toEqual({
      audience: PEOPLE,
      sent: CONSENTING,
      failed: 0,
      skipped: PEOPLE - CONSENTING,
      inFlight: 0,
    });
  });

  it('skips anyone e-mailed within the frequency cap', async () => {
    const id = await campaign('Capped', { frequencyCapHours: 16 });
    const worker = spawnCli(['worker'], env);
    try {
      await admin('POST', `/api/campaigns/${id}/send`, {});
      await waitFor(async () => (await status(id)).status === 'sent', 300_000, 'the campaign done');
    } finally {
      await stopChild(worker);
    }
    expect(mailsOf('Capped')).toEqual([]);
    expect((await status(id)).progress).toMatchObject({ sent: 0, skipped: PEOPLE });
    const reasons = await t.db.collection('campaign_sends').distinct('reason', { _id: { $regex: `^${id}:` } });
    expect(reasons).toContain('e-mailed in the last 16 hours');
  });

  it('refuses bad input with a 400 and a reason, and a send of a sent campaign with a 409', async () => {
    const bad = await admin('POST', '/api/campaigns', { name: 'x', segmentId, subject: '{{event.name}}', body: 'b' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('event.name');
    const noSegment = await admin('POST', '/api/campaigns', {
      name: 'x',
      segmentId: '0123456789abcdef01234567',
      subject: 's',
      body: 'b',
    });
    expect(noSegment.status).toBe(400);
    const list = (await admin('GET', '/api/campaigns')).body.campaigns;
    const sent = list.find((c: { name: string }) => c.name === 'Pause');
    expect((await admin('POST', `/api/campaigns/${sent.id}/send`, {})).status).toBe(409);
  });
});
