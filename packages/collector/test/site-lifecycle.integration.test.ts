import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

    const unconfirmed = await adminCall(t.url, doomed.secretKey, 'DELETE', '/api/site');
    expect(unconfirmed.status).toBe(400);
    const wrong = await adminCall(t.url, doomed.secretKey, 'DELETE', `/api/site?confirm=${keep.siteId}`);
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('TM_ERR_CONFIRM');
    expect(await events.countDocuments({ siteId: oid(doomed.siteId) })).toBe(2);

    const done = await adminCall(t.url, doomed.secretKey, 'DELETE', `/api/site?confirm=${doomed.siteId}`);
    expect(done.status).toBe(200);
    expect(done.body.deleted).toMatchObject({ sites: 1, events: 2, profiles: 1, webhooks: 1 });
    for (const name of ['events', 'profiles', 'identities', 'webhooks', 'deliveries', 'dead_letters', 'triggers']) {
      expect(await t.db.collection(name).countDocuments({ siteId: oid(doomed.siteId) }), name).toBe(0);
    }
    expect(await t.db.collection('metrics_daily').countDocuments({ siteId: doomed.siteId })).toBe(0);
    expect(await t.db.collection('sites').countDocuments({ _id: oid(doomed.siteId) })).toBe(0);
    // its keys are gone
    expect((await postEvents(t.url, { writeKey: doomed.writeKey, batch: [clientEvent()] })).status).toBe(401);
    expect((await adminCall(t.url, doomed.secretKey, 'GET', '/api/site')).status).toBe(401);
    // the other site is whole
    expect(await events.countDocuments({ siteId: oid(keep.siteId) })).toBe(2);
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
