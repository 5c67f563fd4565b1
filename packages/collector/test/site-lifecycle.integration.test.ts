import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickUrl } from '../src/campaigns/tracked-links.js';
import { loadSigningSecret } from '../src/campaigns/unsubscribe-links.js';
import type { QueuedEvent } from '../src/ingest/index.js';
import { createSite } from '../src/sites/index.js';
import { adminCall } from './helpers/admin.js';
import { CLI, clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { specOrder } from './helpers/secret-api.js';

const run = promisify(execFile);

// Regression tests of the security review (issue 11): key rotation with an overlap, site deletion, and the
// messageId namespaces of browsers and back ends.
describe('site keys and site deletion', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  const serverEvent = (key: string, body: unknown) =>
    fetch(`${t.url}/api/track/server-event`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('a rotation with an overlap keeps the old write and secret keys working until its end, then refuses them', async () => {
    const site = await createSite(t.app.models, { name: 'Overlap shop', origins: [] });
    const rotated = await adminCall(t.url, site.secretKey, 'POST', '/api/site/rotate-key', {
      write: true,
      secret: true,
      overlapSeconds: 3,
    });
    expect(rotated.status).toBe(200);
    const until = Date.parse(rotated.body.oldKeysValidUntil);
    expect(until).toBeGreaterThan(Date.now());
    // old and new keys both work during the overlap
    expect((await postEvents(t.url, { writeKey: site.writeKey, batch: [clientEvent()] })).status).toBe(202);
    expect((await postEvents(t.url, { writeKey: rotated.body.writeKey, batch: [clientEvent()] })).status).toBe(202);
    expect((await adminCall(t.url, rotated.body.secretKey, 'GET', '/api/site')).status).toBe(200);
    // the old secret key may only send events during the overlap: a leaked one cannot rotate again (minting a
    // permanent key and killing the new one), delete the site or read profiles
    const order = { ...specOrder(), orderId: 'overlap-1' };
    expect((await serverEvent(site.secretKey, order)).status).toBe(202);
    for (const [method, path, body] of [
      ['POST', '/api/site/rotate-key', { secret: true }],
      ['DELETE', `/api/site?confirm=${site.siteId}`, undefined],
      ['GET', '/api/profiles', undefined],
      ['GET', '/api/site', undefined],
    ] as const) {
      const refused = await adminCall(t.url, site.secretKey, method, path, body);
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.body).toMatchObject({
        code: 'TM_ERR_KEY_SCOPE',
        message: expect.stringMatching(/only sends events/),
      });
    }
    expect((await adminCall(t.url, rotated.body.secretKey, 'GET', '/api/site')).status).toBe(200);

    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 100));
    expect((await postEvents(t.url, { writeKey: site.writeKey, batch: [clientEvent()] })).status).toBe(401);
    expect((await adminCall(t.url, site.secretKey, 'GET', '/api/site')).status).toBe(401);
    expect((await serverEvent(site.secretKey, order)).status).toBe(401);
    expect((await postEvents(t.url, { writeKey: rotated.body.writeKey, batch: [clientEvent()] })).status).toBe(202);
    expect((await adminCall(t.url, rotated.body.secretKey, 'GET', '/api/site')).status).toBe(200);

    const tooLong = await adminCall(t.url, rotated.body.secretKey, 'POST', '/api/site/rotate-key', {
      write: true,
      overlapSeconds: 31 * 86_400,
    });
    expect(tooLong.status).toBe(400);
  });

  it('sites rotate-key --overlap 24h prints when the old keys stop; a bad duration is a clear error', async () => {
    const site = await createSite(t.app.models, { name: 'CLI overlap shop', origins: [] });
    const env = { ...process.env, ...t.env };
    const { stdout } = await run(
      process.execPath,
      [CLI, 'sites', 'rotate-key', '--id', site.siteId, '--write', '--overlap', '24h', '--json'],
      { env },
    );
    const out = JSON.parse(stdout);
    expect(Date.parse(out.oldKeysValidUntil) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    t.app.siteKeys.forgetSite(site.siteId);
    expect((await postEvents(t.url, { writeKey: site.writeKey, batch: [clientEvent()] })).status).toBe(202);
    expect((await postEvents(t.url, { writeKey: out.writeKey, batch: [clientEvent()] })).status).toBe(202);

    const bad = await run(
      process.execPath,
      [CLI, 'sites', 'rotate-key', '--id', site.siteId, '--write', '--overlap', 'a week'],
      { env },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toMatch(/--overlap must be a duration such as 30m, 24h or 7d/);
  });

  it("a browser cannot take a back end's own messageId: both events are stored, the server's under srv:", async () => {
    const id = `order-${Date.now()}`;
    const browser = clientEvent({ messageId: id, name: 'checkout_step', properties: { step: 1 } });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [browser] })).status).toBe(202);
    expect((await serverEvent(t.site.secretKey, { event: 'invoice_sent', messageId: id })).status).toBe(202);
    const events = t.db.collection('events');
    const server = await waitFor(() => events.findOne({ messageId: `srv:${id}` }), 15_000, 'the server event');
    expect(server.name).toBe('invoice_sent');
    // the two went in separate ingest jobs, which the worker may finish in either order
    const mine = await waitFor(() => events.findOne({ messageId: id }), 15_000, 'the browser event');
    expect(mine.name).toBe('checkout_step');
    // a resend of the server event is still one event
    expect((await serverEvent(t.site.secretKey, { event: 'invoice_sent', messageId: id })).status).toBe(202);
    expect((await serverEvent(t.site.secretKey, { event: 'invoice_sent', messageId: `srv:${id}` })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await events.countDocuments({ messageId: `srv:${id}` })).toBe(1);
  });

  it('deleting a site removes everything it holds, keeps other sites whole, and drops its events still queued', async () => {
    const doomed = await createSite(t.app.models, { name: 'Doomed shop', origins: [] });
    const keep = await createSite(t.app.models, { name: 'Kept shop', origins: [] });
    const email = `doomed-${Date.now()}@example.com`;
    for (const s of [doomed, keep]) {
      expect((await serverEvent(s.secretKey, { event: 'signup', profile: { email } })).status).toBe(202);
      expect((await postEvents(t.url, { writeKey: s.writeKey, batch: [clientEvent()] })).status).toBe(202);
      expect(
        (
          await adminCall(t.url, s.secretKey, 'POST', '/api/webhooks', {
            url: 'http://127.0.0.1:9/hook',
            events: ['never_sent'],
          })
        ).status,
      ).toBe(201);
    }
    const events = t.db.collection('events');
    const oid = (id: string) => new Types.ObjectId(id);
    await waitFor(
      async () => (await events.countDocuments({ siteId: { $in: [oid(doomed.siteId), oid(keep.siteId)] } })) === 4,
      15_000,
      'both sites’ events',
    );
    // each site has a segment (with its member), a broadcast sent to it (nobody consents: one skipped) and a
    // flow, each e-mail with a counted click: their member sets, run state and results live in Redis
    const secret = await loadSigningSecret(t.app.models, t.config);
    const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
    const mailState = async (s: typeof doomed) => {
      const call = (method: string, path: string, body?: unknown) => adminCall(t.url, s.secretKey, method, path, body);
      const segment = await call('POST', '/api/segments', {
        name: 'Not consenting',
        definition: { match: 'all', rules: [{ type: 'profile', field: 'consent', op: 'eq', value: false }] },
      });
      expect(segment.status).toBe(201);
      await waitFor(async () => (await call('GET', `/api/segments/${segment.body.id}`)).body.count === 1, 60_000);
      const campaign = await call('POST', '/api/campaigns', {
        name: 'Sale',
        segmentId: segment.body.id,
        subject: 'Sale',
        body: 'https://shop.test/',
      });
      expect(campaign.status).toBe(201);
      expect((await call('POST', `/api/campaigns/${campaign.body.id}/send`, {})).status).toBe(200);
      await waitFor(
        async () => (await call('GET', `/api/campaigns/${campaign.body.id}`)).body.status === 'sent',
        60_000,
      );
      const trigger = await call('POST', '/api/triggers', {
        name: 'Welcome',
        entryEvent: 'never_sent',
        delaySeconds: 60,
        action: { type: 'email', subject: 'Hi', body: 'https://shop.test/' },
      });
      expect(trigger.status).toBe(201);
      const profileId = String((await t.db.collection('profiles').findOne({ siteId: oid(s.siteId) }))!._id);
      const sources = [
        { kind: 'campaign' as const, id: String(campaign.body.id), name: 'Sale' },
        { kind: 'flow' as const, id: String(trigger.body.id), name: 'Welcome', step: 1 },
      ];
      for (const source of sources) {
        const link = clickUrl({ publicUrl: t.url }, secret, {
          siteId: s.siteId,
          profileId,
          source,
          url: 'https://shop.test/',
          sentAt: Date.now() - 60_000,
        });
        expect((await fetch(link, { redirect: 'manual', headers: { 'user-agent': BROWSER } })).status).toBe(302);
      }
      // the two clicks are email_click events (besides the signup and the page view)
      await waitFor(async () => (await events.countDocuments({ siteId: oid(s.siteId) })) === 4, 30_000, 'the clicks');
      return [segment.body.id, campaign.body.id, trigger.body.id, `email-last-click:${s.siteId}:`].map(String);
    };
    /** The Redis keys of the queue prefix that name one of `ids`. */
    const redisKeysOf = async (ids: string[]) => {
      const found: string[] = [];
      for (const id of ids) {
        let cursor = '0';
        do {
          const [next, keys] = await t.app.redis.scan(
            cursor,
            'MATCH',
            `${t.config.queuePrefix}:*${id}*`,
            'COUNT',
            1000,
          );
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
      }
      return found;
    };
    const doomedIds = await mailState(doomed);
    const keptIds = await mailState(keep);
    const doomedKeys = await redisKeysOf(doomedIds);
    // the segment's members, the broadcast's counters and results, the flow's results, the last click
    for (const kind of [
      ':segment:',
      ':campaign-stats:',
      ':email-results:campaign:',
      ':email-clickers:flow:',
      ':email-last-click:',
    ]) {
      expect(
        doomedKeys.some((k) => k.includes(kind)),
        kind,
      ).toBe(true);
    }
    const keptKeys = (await redisKeysOf(keptIds)).sort();
    expect(keptKeys.length).toBe(doomedKeys.length);
    // each site's events were folded into its roll-ups: the folded markers are in Redis
    const foldedOf = (siteId: string) => redisKeysOf([`rollup-folded:${siteId}:`]);
    for (const s of [doomed, keep])
      await waitFor(async () => (await foldedOf(s.siteId)).length > 0, 10_000, 'the roll-ups folded');

    const unconfirmed = await adminCall(t.url, doomed.secretKey, 'DELETE', '/api/site');
    expect(unconfirmed.status).toBe(400);
    const wrong = await adminCall(t.url, doomed.secretKey, 'DELETE', `/api/site?confirm=${keep.siteId}`);
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('TM_ERR_CONFIRM');
    expect(await events.countDocuments({ siteId: oid(doomed.siteId) })).toBe(4);

    const done = await adminCall(t.url, doomed.secretKey, 'DELETE', `/api/site?confirm=${doomed.siteId}`);
    expect(done.status).toBe(200);
    expect(done.body.deleted).toMatchObject({ sites: 1, events: 4, profiles: 1, webhooks: 1 });
    for (const name of ['events', 'profiles', 'identities', 'webhooks', 'deliveries', 'dead_letters', 'triggers']) {
      expect(await t.db.collection(name).countDocuments({ siteId: oid(doomed.siteId) }), name).toBe(0);
    }
    expect(await t.db.collection('metrics_daily').countDocuments({ siteId: doomed.siteId })).toBe(0);
    expect(await t.db.collection('sites').countDocuments({ _id: oid(doomed.siteId) })).toBe(0);
    // its keys are gone
    expect((await postEvents(t.url, { writeKey: doomed.writeKey, batch: [clientEvent()] })).status).toBe(401);
    expect((await adminCall(t.url, doomed.secretKey, 'GET', '/api/site')).status).toBe(401);
    // its campaigns', flows' and segments' keys in Redis too, and its roll-ups' contributions and markers
    expect(await redisKeysOf(doomedIds)).toEqual([]);
    expect(await redisKeysOf([`rollup-folded:${doomed.siteId}:`, `rollup-pending:${doomed.siteId}:`])).toEqual([]);
    expect((await foldedOf(keep.siteId)).length).toBeGreaterThan(0);
    expect(done.body.deleted.campaignKeys).toBe(doomedKeys.length);
    // the other site is whole
    expect((await redisKeysOf(keptIds)).sort()).toEqual(keptKeys);
    expect(await events.countDocuments({ siteId: oid(keep.siteId) })).toBe(4);
    expect(await t.db.collection('profiles').countDocuments({ siteId: oid(keep.siteId) })).toBe(1);

    // an event of the deleted site still in a queue (accepted by a collector that had not yet forgotten the
    // key) is dropped by the worker, not stored
    const queued = (siteId: string): QueuedEvent => {
      const e = clientEvent() as { messageId: string; timestamp: string; properties: Record<string, unknown> };
      return {
        ...e,
        siteId,
        name: 'page_view',
        receivedAt: new Date().toISOString(),
        anonymousId: 'anon-late',
        sessionId: null,
        profileId: null,
        source: 'client',
        userAgent: null,
        ip: null,
      };
    };
    const late = queued(doomed.siteId);
    const marker = queued(keep.siteId);
    await t.app.queues.ingest.add('events', { events: [late, marker] });
    await waitFor(() => events.findOne({ messageId: marker.messageId }), 15_000, 'the kept site’s event');
    expect(await events.countDocuments({ siteId: oid(doomed.siteId) })).toBe(0);
  });

  it('sites delete asks for --yes, then deletes through the CLI', async () => {
    const site = await createSite(t.app.models, { name: 'CLI doomed', origins: [] });
    const env = { ...process.env, ...t.env };
    const refused = await run(process.execPath, [CLI, 'sites', 'delete', '--id', site.siteId], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((refused as { code: number }).code).toBe(1);
    expect((refused as { stderr: string }).stderr).toMatch(/cannot be undone: add --yes/);
    expect(await t.db.collection('sites').countDocuments({ _id: new Types.ObjectId(site.siteId) })).toBe(1);

    const { stdout } = await run(process.execPath, [CLI, 'sites', 'delete', '--id', site.siteId, '--yes'], { env });
    expect(stdout).toMatch(/site CLI doomed \(\w+\) deleted: sites 1/);
    expect(await t.db.collection('sites').countDocuments({ _id: new Types.ObjectId(site.siteId) })).toBe(0);
  });
});
