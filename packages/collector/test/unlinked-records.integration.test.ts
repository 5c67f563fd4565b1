import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../src/ingest/index.js';
import {
  prepareUnlinkedRecords,
  processEvents,
  setAsideIdleRecords,
  type UnlinkedEvents,
  unlinkedEvents,
  unlinkedKey,
  unlinkedReadyKey,
} from '../src/pipeline/index.js';
import {
  clientEvent,
  postEvents,
  queuedEvent,
  runAll,
  shuffle,
  startTestApp,
  type TestApp,
  waitFor,
} from './helpers/harness.js';

/**
 * Records of events stored without a profile (Redis, pipeline/unlinked-events.ts): linking a visitor back-fills
 * its earlier events from them instead of reading `events`, and from `events` wherever the records may not name
 * them all (a site whose records are not known complete, a visitor whose records were set aside, a retried job).
 * Whichever way, every event of a linked visitor id ends up carrying its profile.
 */

type Row = { messageId: string; anonymousId: string | null; profileId: Types.ObjectId | null };

describe('records of events without a profile', () => {
  let t: TestApp;
  let records: UnlinkedEvents;
  const prefix = () => t.config.queuePrefix;

  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_WORKER_CONCURRENCY: '4' } });
    records = unlinkedEvents(t.app.models, t.app.redis, prefix());
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  const queued = (over: Partial<QueuedEvent> & Pick<QueuedEvent, 'anonymousId'>) => queuedEvent(t.site.siteId, over);
  const identify = (anonymousId: string, email: string) =>
    queued({ anonymousId, name: 'identify', properties: { email }, profile: { email, consentSource: 'identify' } });

  /** Every event of these visitor ids whose profileId is not the profile their visitor id is linked to. */
  async function wronglyLinked(visitorIds: string[]): Promise<string[]> {
    const links = await t.db
      .collection<{ anonymousId: string; profileId: Types.ObjectId }>('identities')
      .find({ anonymousId: { $in: visitorIds } })
      .toArray();
    const linkOf = new Map(links.map((l) => [l.anonymousId, l.profileId]));
    const rows = await t.db
      .collection<Row>('events')
      .find({ anonymousId: { $in: visitorIds } }, { projection: { messageId: 1, anonymousId: 1, profileId: 1 } })
      .toArray();
    const wrong: string[] = [];
    for (const visitor of visitorIds) {
      const profileId = linkOf.get(visitor);
      if (!profileId) wrong.push(`${visitor}: not linked`);
      for (const r of rows.filter((row) => row.anonymousId === visitor)) {
        if (!profileId || !r.profileId?.equals(profileId)) wrong.push(`${r.messageId}: ${String(r.profileId)}`);
      }
    }
    return wrong;
  }

  /** The event ids recorded for a visitor id (the hash's fields but its last-write time). */
  const recordedIds = async (visitor: string) =>
    Object.keys(await t.app.redis.hgetall(unlinkedKey(prefix(), `${t.site.siteId}:${visitor}`))).filter(
      (f) => f !== '_',
    );
  const marked = (visitor: string) =>
    t.app.models.UnlinkedVisitor.exists({ _id: `${t.site.siteId}:${visitor}` }).then((d) => d !== null);
  const run = (events: QueuedEvent[], jobKey = `job-${randomUUID()}`) =>
    processEvents(
      t.app.models,
      events.map((e) => structuredClone(e)),
      { jobKey, unlinked: records },
    );

  it('a site holding events from before records were kept: its unlinked visitors are marked with their events, read by _id', async () => {
    const old = `old-${randomUUID()}`;
    // stored before records were kept: no record names it
    await t.db.collection('events').insertOne({
      siteId: new Types.ObjectId(t.site.siteId),
      messageId: `m-${randomUUID()}`,
      profileId: null,
      anonymousId: old,
      sessionId: null,
      name: 'page_view',
      timestamp: new Date(),
      receivedAt: new Date(),
      properties: {},
      sentBy: 'client',
      userAgent: null,
      ip: null,
    });
    await t.app.redis.del(unlinkedReadyKey(prefix(), t.site.siteId)); // whatever the keeper did meanwhile
    const prepared = await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    expect(prepared.sites).toBeGreaterThanOrEqual(1);
    expect(await t.app.redis.get(unlinkedReadyKey(prefix(), t.site.siteId))).not.toBeNull();
    expect(await marked(old)).toBe(true);
    // the mark names the visitor's event, so its records are complete: the event is read by `_id`
    const read = (await records.read([`${t.site.siteId}:${old}`])).get(`${t.site.siteId}:${old}`);
    expect(read).toMatchObject({ complete: true, marked: true });
    expect(read?.events.map((e) => [e.anonymousId, e.name])).toEqual([[old, 'page_view']]);

    await run([queued({ anonymousId: old }), identify(old, `old-${randomUUID().slice(0, 8)}@example.com`)]);
    expect(await wronglyLinked([old])).toEqual([]);
    expect(await marked(old)).toBe(false); // back-filled: the mark is gone
    expect(await recordedIds(old)).toEqual([]);
  });

  it('a visitor browsing before it signs in: its events are recorded, back-filled from the records, then forgotten', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    const visitor = `v-${randomUUID()}`;
    await run([queued({ anonymousId: visitor }), queued({ anonymousId: visitor })]);
    await run([queued({ anonymousId: visitor, name: 'add_to_cart', properties: { productId: 'p', quantity: 1 } })]);
    expect(await recordedIds(visitor)).toHaveLength(3);
    const read = (await records.read([`${t.site.siteId}:${visitor}`])).get(`${t.site.siteId}:${visitor}`);
    expect(read?.complete).toBe(true);
    expect(read?.events.map((e) => e.name).sort()).toEqual(['add_to_cart', 'page_view', 'page_view']);

    const result = await run([identify(visitor, `v-${randomUUID().slice(0, 8)}@example.com`)]);
    expect(await wronglyLinked([visitor])).toEqual([]);
    expect(await recordedIds(visitor)).toEqual([]);
    // the profile facts' earlier events come from the records
    expect(
      result.backfilled
        ?.get(`${t.site.siteId}:${visitor}`)
        ?.map((e) => e.name)
        .sort(),
    ).toEqual(['add_to_cart', 'page_view', 'page_view']);
  });

  it('page views, identify and alias of 60 visitors in random order, 8 at a time, jobs redelivered: all linked, no record left', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    const visitors: string[] = [];
    const jobs: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 60; i++) {
      const visitor = `race-${randomUUID()}`;
      const previous = `before-${randomUUID()}`;
      visitors.push(visitor, previous);
      const sequence = [
        queued({ anonymousId: previous }),
        queued({ anonymousId: visitor }),
        identify(visitor, `r-${randomUUID().slice(0, 8)}@example.com`),
        queued({ anonymousId: visitor }),
        queued({ anonymousId: visitor, name: 'alias', properties: { previousId: previous } }),
        queued({ anonymousId: previous, name: 'add_to_cart', properties: { productId: 'p', quantity: 1 } }),
      ];
      for (const event of sequence) {
        const job = () => run([event], event.messageId);
        jobs.push(job);
        if (Math.random() < 0.2) jobs.push(job); // the same job delivered twice
      }
    }
    await runAll(shuffle(jobs), 8);
    expect(await wronglyLinked(visitors)).toEqual([]);
    const left = (await Promise.all(visitors.map(recordedIds))).flat();
    expect(left).toEqual([]);
  }, 300_000);

  it('records idle for 30 days are set aside: the visitor is marked, the hash dropped, and linking reads events', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    const idle = `idle-${randomUUID()}`;
    const active = `active-${randomUUID()}`;
    await run([queued({ anonymousId: idle }), queued({ anonymousId: idle })]);
    await run([queued({ anonymousId: active })]);
    // "now" 31 days on for the idle visitor only: the active one is written again just before
    const later = Date.now() + 31 * 86_400_000;
    await t.app.redis.hset(unlinkedKey(prefix(), `${t.site.siteId}:${active}`), '_', String(later));
    await setAsideIdleRecords(t.app.models, t.app.redis, prefix(), later);
    expect(await t.app.redis.exists(unlinkedKey(prefix(), `${t.site.siteId}:${idle}`))).toBe(0);
    expect(await marked(idle)).toBe(true);
    // the mark names the two events, read by `_id` when the visitor is linked
    const read = (await records.read([`${t.site.siteId}:${idle}`])).get(`${t.site.siteId}:${idle}`);
    expect(read).toMatchObject({ complete: true, marked: true });
    expect(read?.events).toHaveLength(2);
    expect(await recordedIds(active)).toHaveLength(1);
    expect(await marked(active)).toBe(false);

    await run([identify(idle, `i-${randomUUID().slice(0, 8)}@example.com`)]);
    await run([identify(active, `a-${randomUUID().slice(0, 8)}@example.com`)]);
    expect(await wronglyLinked([idle, active])).toEqual([]);
    expect(await marked(idle)).toBe(false);
  });

  it('a visitor set aside twice: its mark names no events, and linking reads them from events', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    const visitor = `twice-${randomUUID()}`;
    const key = `${t.site.siteId}:${visitor}`;
    await run([queued({ anonymousId: visitor })]);
    await setAsideIdleRecords(t.app.models, t.app.redis, prefix(), Date.now() + 31 * 86_400_000);
    expect((await records.read([key])).get(key)).toMatchObject({ complete: true, marked: true });
    await run([queued({ anonymousId: visitor })]); // recorded in a new hash, the mark still there
    await setAsideIdleRecords(t.app.models, t.app.redis, prefix(), Date.now() + 62 * 86_400_000);
    // the first mark named the first event only: it now names none
    expect((await records.read([key])).get(key)).toMatchObject({ events: [], complete: false, marked: true });
    await run([identify(visitor, `t-${randomUUID().slice(0, 8)}@example.com`)]);
    expect(await wronglyLinked([visitor])).toEqual([]);
    expect(await marked(visitor)).toBe(false);
  });

  it('a Redis that lost the records: the site is not known complete, linking reads events until the keeper has run', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    const visitor = `lost-${randomUUID()}`;
    await run([queued({ anonymousId: visitor }), queued({ anonymousId: visitor })]);
    await t.app.redis.del(
      unlinkedKey(prefix(), `${t.site.siteId}:${visitor}`),
      unlinkedReadyKey(prefix(), t.site.siteId),
    );
    const read = (await records.read([`${t.site.siteId}:${visitor}`])).get(`${t.site.siteId}:${visitor}`);
    expect(read).toEqual({ events: [], complete: false, marked: false });
    await run([identify(visitor, `l-${randomUUID().slice(0, 8)}@example.com`)]);
    expect(await wronglyLinked([visitor])).toEqual([]);
  });

  it('erasing a person drops the records and marks of its visitor ids', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    const visitor = `erase-${randomUUID()}`;
    const email = `e-${randomUUID().slice(0, 8)}@example.com`;
    await run([identify(visitor, email)]);
    await run([queued({ anonymousId: visitor })]); // a record of the visitor's is kept (its hash exists)
    await t.app.models.UnlinkedVisitor.create({
      _id: `${t.site.siteId}:${visitor}`,
      siteId: t.site.siteId,
      at: new Date(),
    });
    expect(await t.app.redis.exists(unlinkedKey(prefix(), `${t.site.siteId}:${visitor}`))).toBe(1);
    const profile = await t.db.collection('profiles').findOne({ email });
    const res = await fetch(`${t.url}/api/profiles/${profile!._id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t.site.secretKey}` },
    });
    expect(res.status).toBe(200);
    expect(await t.app.redis.exists(unlinkedKey(prefix(), `${t.site.siteId}:${visitor}`))).toBe(0);
    expect(await marked(visitor)).toBe(false);
  });

  it('over HTTP with the worker: browsing, then sign-in, then browsing — every event linked, the facts count all of them', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    const visitor = `http-${randomUUID()}`;
    const email = `h-${randomUUID().slice(0, 8)}@example.com`;
    const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36' };
    const send = async (event: Record<string, unknown>) =>
      expect(
        (await postEvents(t.url, { writeKey: t.site.writeKey, batch: [event] }, { headers: browser })).status,
      ).toBe(202);
    for (let i = 0; i < 3; i++) await send(clientEvent({ anonymousId: visitor }));
    const stored = (n: number) => async () =>
      (await t.db.collection('events').countDocuments({ anonymousId: visitor })) === n;
    await waitFor(stored(3), 120_000, '3 page views stored');
    await waitFor(async () => (await recordedIds(visitor)).length === 3, 60_000, 'their records');
    await send(clientEvent({ anonymousId: visitor, name: 'identify', properties: { email } }));
    await send(clientEvent({ anonymousId: visitor }));
    await waitFor(stored(5), 120_000, '5 events stored');
    await waitFor(async () => (await wronglyLinked([visitor])).length === 0, 120_000, 'every event linked');
    const link = await t.db.collection('identities').findOne({ _id: `${t.site.siteId}:${visitor}` } as never);
    const facts = () => t.app.models.ProfileFacts.findById(link!.profileId).lean();
    await waitFor(async () => (await facts())?.counts.page_view === 4, 120_000, 'the facts count 4 page views');
    expect((await facts())?.counts).toMatchObject({ page_view: 4, identify: 1 });
    expect(await recordedIds(visitor)).toEqual([]);
  }, 300_000);
});
