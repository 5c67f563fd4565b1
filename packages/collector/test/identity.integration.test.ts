import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../src/ingest/index.js';
import { migrate } from '../src/models/index.js';
import { processEvents } from '../src/pipeline/index.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

// Identity beyond e-mail (issue 15): the site's own userId as a profile key, linking, merging and alias.
describe('profiles keyed by userId as well as e-mail', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  const server = async (body: unknown) => {
    const res = await adminCall(t.url, t.site.secretKey, 'POST', '/api/track/server-event', body);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body;
  };
  const profiles = () => t.db.collection('profiles');
  const events = () => t.db.collection('events');
  const uid = () => `user-${randomUUID().slice(0, 8)}`;
  const mail = () => `p-${randomUUID().slice(0, 8)}@example.com`;
  const stored = (messageId: string) =>
    waitFor(() => events().findOne({ messageId }), 15_000, `event ${messageId}`) as Promise<Record<string, unknown>>;

  it('a backend identifies a person by userId alone; the profile API finds them by it', async () => {
    const userId = uid();
    await server({ event: 'identify', messageId: `id-${userId}`, profile: { userId, firstName: 'Uma' } });
    await stored(`srv:id-${userId}`);
    const found = await adminCall(t.url, t.site.secretKey, 'GET', `/api/profiles?userId=${userId}`);
    expect(found.body.profiles).toHaveLength(1);
    expect(found.body.profiles[0]).toMatchObject({ userId, firstName: 'Uma' });
    expect(found.body.profiles[0].email).toBeUndefined();
    // a second profile without e-mail in the same site is fine (no unique e-mail index on missing e-mails)
    const other = uid();
    await server({ event: 'identify', messageId: `id-${other}`, userId: other });
    await stored(`srv:id-${other}`);
    expect(await profiles().countDocuments({ siteId: new Types.ObjectId(t.site.siteId), userId: other })).toBe(1);
  });

  it('a browser identify with a userId links the visitor (and their earlier events) to that profile', async () => {
    const userId = uid();
    const anon = `anon-${randomUUID()}`;
    const before = clientEvent({ anonymousId: anon });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [before] })).status).toBe(202);
    await stored(before.messageId as string);
    const who = clientEvent({ name: 'identify', anonymousId: anon, properties: { userId } });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [who] })).status).toBe(202);
    const profile = await waitFor(() => profiles().findOne({ userId }), 15_000, 'the userId profile');
    expect(profile.anonymousIds).toContain(anon);
    await waitFor(
      async () => (await events().findOne({ messageId: before.messageId }))?.profileId?.equals(profile._id),
      15_000,
      'the earlier event back-filled',
    );
    const bad = clientEvent({ name: 'identify', properties: { firstName: 'Nobody' } });
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [bad] });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('identify needs an email or a userId');
  });

  it('an event with both a new userId and a new e-mail makes one profile with both', async () => {
    const userId = uid();
    const email = mail();
    await server({ event: 'signup', messageId: `both-${userId}`, userId, email });
    await stored(`srv:both-${userId}`);
    const docs = await profiles()
      .find({ $or: [{ userId }, { email }] })
      .toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ userId, email });
  });

  it('two profiles that turn out to be one person are merged: every event and the consent history kept, exactly once under retries', async () => {
    const userId = uid();
    const email = mail();
    // one profile known by e-mail (consent given by a backend), another by userId, each with events
    await server({ event: 'identify', messageId: `e-${email}`, profile: { email, consent: { email: true } } });
    await server({ event: 'page_seen', messageId: `e2-${email}`, email });
    await server({ event: 'identify', messageId: `u-${userId}`, userId });
    await server({ event: 'plan_chosen', messageId: `u2-${userId}`, userId });
    // each request is its own job and jobs run concurrently: wait for all four, not only the last of each pair
    for (const id of [`srv:e-${email}`, `srv:e2-${email}`, `srv:u-${userId}`, `srv:u2-${userId}`]) await stored(id);
    const byEmail = await profiles().findOne({ email });
    const byUser = await profiles().findOne({ userId });
    expect(byEmail!._id.equals(byUser!._id)).toBe(false);

    // the backend now says they are one: the e-mail's profile is merged into the userId's
    const link: QueuedEvent = {
      siteId: t.site.siteId,
      messageId: `srv:link-${userId}`,
      name: 'identify',
      timestamp: new Date().toISOString(),
      receivedAt: new Date().toISOString(),
      anonymousId: null,
      sessionId: null,
      profileId: null,
      properties: {},
      source: 'server',
      userAgent: null,
      ip: null,
      profile: { userId, email, consentSource: 'server' },
    };
    // the job run twice (a retry after a crash at any point re-runs every step): nothing twice
    await processEvents(t.app.models, [structuredClone(link)]);
    await processEvents(t.app.models, [structuredClone(link)]);

    const left = await profiles()
      .find({ $or: [{ userId }, { email }] })
      .toArray();
    expect(left).toHaveLength(1);
    const merged = left[0]!;
    expect(merged._id.equals(byUser!._id)).toBe(true);
    expect(merged).toMatchObject({ userId, email, consent: { email: true, source: 'server' } });
    expect(merged.consentHistory.filter((h: { email: boolean }) => h.email === true)).toHaveLength(1);
    const theirs = await events()
      .find({
        messageId: {
          $in: [`srv:e-${email}`, `srv:e2-${email}`, `srv:u-${userId}`, `srv:u2-${userId}`, link.messageId],
        },
      })
      .toArray();
    expect(theirs).toHaveLength(5);
    for (const e of theirs) expect(e.profileId?.equals(merged._id), e.messageId).toBe(true);
    // found by either key
    const api = await adminCall(t.url, t.site.secretKey, 'GET', `/api/profiles?email=${email}`);
    expect(api.body.profiles.map((p: { id: string }) => p.id)).toEqual([merged._id.toHexString()]);
  });

  it("a browser cannot merge people: a userId and someone else's e-mail leave the e-mail's profile alone", async () => {
    const userId = uid();
    const email = mail();
    await server({ event: 'identify', messageId: `victim-${email}`, profile: { email, firstName: 'Vic' } });
    await server({ event: 'identify', messageId: `attacker-${userId}`, userId });
    await stored(`srv:victim-${email}`);
    await stored(`srv:attacker-${userId}`);
    const claim = clientEvent({ name: 'identify', anonymousId: `a-${userId}`, properties: { userId, email } });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [claim] })).status).toBe(202);
    const event = await stored(claim.messageId as string);
    const victim = await profiles().findOne({ email });
    const attacker = await profiles().findOne({ userId });
    expect(victim).toMatchObject({ email, firstName: 'Vic' });
    expect(victim!.userId).toBeUndefined();
    expect(attacker!.email).toBeUndefined();
    expect((event.profileId as Types.ObjectId).equals(attacker!._id)).toBe(true);
  });

  it("alias(previousId): a visitor id from before sign-in joins the person's profile with its events", async () => {
    const userId = uid();
    const old = `before-login-${randomUUID()}`;
    const early = clientEvent({
      anonymousId: old,
      name: 'add_to_cart',
      properties: { productId: 'p', quantity: 1, price: 2 },
    });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [early] })).status).toBe(202);
    await stored(early.messageId as string);
    await server({ event: 'identify', messageId: `al-${userId}`, userId });
    await server({ event: 'alias', messageId: `alias-${userId}`, userId, properties: { previousId: old } });
    const profile = await waitFor(() => profiles().findOne({ userId, anonymousIds: old }), 15_000, 'the alias');
    await waitFor(
      async () => (await events().findOne({ messageId: early.messageId }))?.profileId?.equals(profile._id),
      15_000,
      "the earlier visitor's event linked",
    );
  });

  it('migrate drops the 0.1 unique (siteId, email) index and gives every profile its emailKey', async () => {
    const { MongoClient } = await import('mongodb');
    const url = new URL(t.env.MONGODB_URI!);
    url.pathname = `/tm_test_migrate_${randomUUID().slice(0, 8)}`;
    const client = new MongoClient(url.toString());
    const db = client.db();
    try {
      const siteId = new Types.ObjectId();
      await db.collection('profiles').createIndex({ siteId: 1, email: 1 }, { unique: true });
      await db.collection('profiles').insertOne({ siteId, email: 'old@example.com', anonymousIds: [] });
      const mongoose = await import('mongoose');
      const conn = await mongoose.createConnection(url.toString()).asPromise();
      const { createModels } = await import('../src/models/index.js');
      await migrate(createModels(conn));
      await conn.close();
      const indexes = await db.collection('profiles').indexes();
      expect(indexes.some((i) => i.unique && JSON.stringify(i.key) === '{"siteId":1,"email":1}')).toBe(false);
      expect(indexes.some((i) => i.unique && JSON.stringify(i.key) === '{"emailKey":1}')).toBe(true);
      expect((await db.collection('profiles').findOne({ email: 'old@example.com' }))?.emailKey).toBe(
        `${siteId.toHexString()}|old@example.com`,
      );
    } finally {
      await db.dropDatabase().catch(() => {});
      await client.close();
    }
  });
});
