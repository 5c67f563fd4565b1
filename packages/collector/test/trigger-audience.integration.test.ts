import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

describe('a segment as a flow’s audience (real SMTP server, Redis and MongoDB-wire server)', {
  timeout: 180_000,
}, () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const run = randomUUID().slice(0, 8);
  const mail = (who: string) => `${who}-${run}@example.com`;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestApp({ env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('refuses a segment of no site of the key with a 400', async () => {
    const res = await admin('POST', '/api/triggers', {
      name: 'x',
      entryEvent: 'add_to_cart',
      delaySeconds: 1,
      segmentId: '0123456789abcdef01234567',
      action: { type: 'email', subject: 's', body: 'b' },
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('0123456789abcdef01234567');
  });

  it('mails the segment’s members and skips the others’ entries with the reason', async () => {
    const segment = await admin('POST', '/api/segments', {
      name: 'VIPs',
      definition: { match: 'all', rules: [{ type: 'profile', field: 'tags', op: 'eq', value: 'vip' }] },
    });
    expect(segment.status).toBe(201);
    const trigger = await admin('POST', '/api/triggers', {
      name: 'VIP cart',
      entryEvent: 'add_to_cart',
      delaySeconds: 1,
      segmentId: segment.body.id,
      action: { type: 'email', subject: 'For our VIPs', body: 'Hi {{profile.email}}' },
    });
    expect(trigger.status).toBe(201);
    expect(trigger.body.segmentId).toBe(segment.body.id);
    const identify = (who: string) => ({
      event: 'identify',
      profile: { email: mail(who), consent: { email: true } },
    });
    expect(
      (await admin('POST', '/api/track/server-event', { batch: [identify('vip'), identify('plain')] })).status,
    ).toBe(202);
    const vip = await waitFor(() => t.db.collection('profiles').findOne({ email: mail('vip') }), 30_000, 'vip');
    await waitFor(() => t.db.collection('profiles').findOne({ email: mail('plain') }), 30_000, 'plain');
    expect((await admin('PATCH', `/api/profiles/${vip._id}`, { metadata: { tags: ['vip'] } })).status).toBe(200);
    await waitFor(
      async () => (await admin('GET', `/api/segments/${segment.body.id}`)).body.count === 1,
      30_000,
      'the VIP counted',
    );
    const cart = (who: string) => ({ event: 'add_to_cart', email: mail(who), properties: { productId: 'p1' } });
    expect((await admin('POST', '/api/track/server-event', { batch: [cart('vip'), cart('plain')] })).status).toBe(202);
    const entries = t.db.collection('trigger_entries');
    const settled = await waitFor(
      async () => {
        const all = await entries.find({ state: { $ne: 'waiting' } }).toArray();
        return all.length === 2 && all;
      },
      60_000,
      'both entries settled',
    );
    const byProfile = new Map(settled.map((e) => [String(e.profileId), e]));
    expect(byProfile.get(String(vip._id))?.state).toBe('sent');
    const other = settled.find((e) => String(e.profileId) !== String(vip._id))!;
    expect(other).toMatchObject({ state: 'skipped', reason: 'not in the audience segment' });
    await waitFor(() => smtp.mails.some((m) => m.to.includes(mail('vip'))), 30_000, 'the VIP mail');
    expect(smtp.mails.filter((m) => m.to.includes(mail('plain')))).toEqual([]);
  });
});
