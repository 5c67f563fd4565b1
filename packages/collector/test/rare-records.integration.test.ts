import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../src/ingest/index.js';
import {
  fillLinkRecords,
  fillMarkRecords,
  type LinkMirror,
  linkMirror,
  prepareUnlinkedRecords,
  processEvents,
  setAsideIdleRecords,
  type UnlinkedEvents,
  unlinkedEvents,
} from '../src/pipeline/index.js';
import { followMerges } from '../src/pipeline/visitor-links.js';
import { mergeProfiles } from '../src/profiles/user-ids.js';
import { queuedEvent, runAll, shuffle, startTestApp, type TestApp } from './helpers/harness.js';

/**
 * The Redis sets of the ids that may have a document in `profile_merges`, `pending_aliases` and `unlinked_visitors`
 * (plugins/redis-presence.ts): once complete, an id they lack is not looked up. A document written by a writer
 * that knows the sets is never missed, whenever it is written; one written behind their back (as no writer does)
 * shows that the lookup is spared, and is found again once Redis has lost the set.
 */
describe('the sets of ids that may have a merge, a pending alias or a mark', () => {
  let t: TestApp;
  let mirror: LinkMirror;
  let records: UnlinkedEvents;
  const prefix = () => t.config.queuePrefix;

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    mirror = linkMirror(t.app.redis, prefix());
    records = unlinkedEvents(t.app.models, t.app.redis, prefix());
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  const queued = (over: Partial<QueuedEvent> & Pick<QueuedEvent, 'anonymousId'>) => queuedEvent(t.site.siteId, over);
  const mail = () => `p-${randomUUID().slice(0, 8)}@example.com`;
  const identify = (anonymousId: string, email = mail()) =>
    queued({ anonymousId, name: 'identify', properties: { email }, profile: { email, consentSource: 'identify' } });
  const run = (events: QueuedEvent[]) =>
    processEvents(
      t.app.models,
      events.map((e) => structuredClone(e)),
      { jobKey: `job-${randomUUID()}`, mirror, unlinked: records },
    );
  const profileOf = async (anonymousId: string) =>
    (await t.db.collection('identities').findOne({ _id: `${t.site.siteId}:${anonymousId}` as never }))?.profileId as
      | Types.ObjectId
      | undefined;
  const eventProfiles = async (anonymousId: string) =>
    (await t.db.collection('events').find({ anonymousId }).toArray()).map((e) => e.profileId?.toHexString() ?? null);
  const storedEvent = async (profileId: Types.ObjectId) => {
    const messageId = `m-${randomUUID()}`;
    await t.db.collection('events').insertOne({
      siteId: new Types.ObjectId(t.site.siteId),
      messageId,
      profileId,
      anonymousId: null,
      name: 'page_view',
      timestamp: new Date(),
      receivedAt: new Date(),
      properties: {},
      sentBy: 'server',
    });
    return async () => (await t.db.collection('events').findOne({ messageId }))?.profileId as Types.ObjectId;
  };

  it('a merge made after the set of merged profiles was filled is followed; one written behind its back only once Redis lost the set', async () => {
    await fillLinkRecords(t.app.models, t.app.redis, prefix());
    expect(await t.app.redis.get(`${prefix()}:merged-ready:all`)).not.toBeNull();
    await run([identify(`a-${randomUUID()}`), identify(`b-${randomUUID()}`)]);
    const [from, into] = await t.app.models.Profile.find({ siteId: new Types.ObjectId(t.site.siteId) })
      .sort({ _id: -1 })
      .limit(2)
      .lean();
    // another worker merges them, knowing the set: an event still stored with the merged profile's id follows it
    await mergeProfiles(t.app.models, from!._id, into!._id, mirror.merges);
    const late = await storedEvent(from!._id);
    await followMerges(t.app.models, [from!._id], mirror);
    expect((await late()).equals(into!._id)).toBe(true);

    // a record written straight into profile_merges is not in the set: the complete set spares its lookup
    const ghost = new Types.ObjectId();
    await t.app.models.ProfileMerge.create({
      _id: ghost,
      siteId: new Types.ObjectId(t.site.siteId),
      into: into!._id,
      at: new Date(),
    });
    const behind = await storedEvent(ghost);
    await followMerges(t.app.models, [ghost], mirror);
    expect((await behind()).equals(ghost)).toBe(true);
    // Redis lost the set (the ready key went with it): MongoDB is asked again, and the next fill learns the record
    await t.app.redis.del(`${prefix()}:merged:all`, `${prefix()}:merged-ready:all`);
    await followMerges(t.app.models, [ghost], mirror);
    expect((await behind()).equals(into!._id)).toBe(true);
    await fillLinkRecords(t.app.models, t.app.redis, prefix());
    expect(await t.app.redis.sismember(`${prefix()}:merged:all`, ghost.toHexString())).toBe(1);
  });

  it('aliases noted while the set of aliased visitors is complete: page views, alias and identify of 30 visitors in any order, all linked', async () => {
    await fillLinkRecords(t.app.models, t.app.redis, prefix());
    expect(await t.app.redis.get(`${prefix()}:aliased-ready:${t.site.siteId}`)).not.toBeNull();
    const jobs: QueuedEvent[][] = [];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < 30; i++) {
      const now = `now-${randomUUID()}`;
      const before = `before-${randomUUID()}`;
      pairs.push([now, before]);
      jobs.push([queued({ anonymousId: before })]);
      jobs.push([queued({ anonymousId: now, name: 'alias', properties: { previousId: before } })]);
      jobs.push([identify(now)]);
    }
    await runAll(
      shuffle(jobs).map((job) => () => run(job)),
      6,
    );
    for (const [now, before] of pairs) {
      const profileId = await profileOf(now);
      expect(profileId, now).toBeDefined();
      expect((await profileOf(before))?.equals(profileId!), before).toBe(true);
      expect(await eventProfiles(before)).toEqual([profileId!.toHexString()]);
    }
  }, 120_000);

  it('a pending alias written behind the set is skipped while the set is complete, and followed once Redis lost it', async () => {
    await fillLinkRecords(t.app.models, t.app.redis, prefix());
    const now = `ghost-now-${randomUUID()}`;
    const before = `ghost-before-${randomUUID()}`;
    const email = mail();
    await run([queued({ anonymousId: before })]);
    await t.app.models.PendingAlias.create({
      _id: `${t.site.siteId}:${now}`,
      siteId: new Types.ObjectId(t.site.siteId),
      previousIds: [before],
      at: new Date(),
    });
    await run([identify(now, email)]);
    expect(await profileOf(before)).toBeUndefined();
    await t.app.redis.del(`${prefix()}:aliased-ready:${t.site.siteId}`);
    await run([identify(now, email)]);
    expect((await profileOf(before))?.equals((await profileOf(now))!)).toBe(true);
  });

  it('a visitor set aside after the set of marked visitors was filled: linking it back-fills its events', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    await fillMarkRecords(t.app.models, t.app.redis, prefix());
    expect(await t.app.redis.get(`${prefix()}:unlinked-marked-ready:${t.site.siteId}`)).not.toBeNull();
    const idle = `idle-${randomUUID()}`;
    await run([queued({ anonymousId: idle }), queued({ anonymousId: idle })]);
    await setAsideIdleRecords(t.app.models, t.app.redis, prefix(), Date.now() + 31 * 86_400_000);
    const key = `${t.site.siteId}:${idle}`;
    expect(await t.app.redis.exists(`${prefix()}:unlinked:${key}`)).toBe(0);
    expect((await records.read([key])).get(key)).toMatchObject({ complete: true, marked: true });
    await run([identify(idle)]);
    const profileId = (await profileOf(idle))!.toHexString();
    expect(await eventProfiles(idle)).toEqual([profileId, profileId, profileId]);
  });

  it('a visitor set aside while a back-fill reads its records: read from its mark', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    await fillMarkRecords(t.app.models, t.app.redis, prefix());
    const idle = `idle-${randomUUID()}`;
    await run([queued({ anonymousId: idle }), queued({ anonymousId: idle })]);
    const key = `${t.site.siteId}:${idle}`;
    // the keeper marks the visitor and drops its records just before the back-fill's read of them reaches Redis
    let setAside = false;
    const redis = new Proxy(t.app.redis, {
      get(target, name, receiver) {
        if (name !== 'pipeline') return Reflect.get(target, name, receiver);
        return () => {
          const pipeline = target.pipeline();
          let readsRecords = false;
          const hgetall = pipeline.hgetall.bind(pipeline);
          const exec = pipeline.exec.bind(pipeline);
          Object.assign(pipeline, {
            hgetall: (...args: Parameters<typeof hgetall>) => {
              readsRecords = true;
              return hgetall(...args);
            },
            exec: async () => {
              if (readsRecords && !setAside) {
                setAside = true;
                await setAsideIdleRecords(t.app.models, t.app.redis, prefix(), Date.now() + 31 * 86_400_000);
              }
              return exec();
            },
          });
          return pipeline;
        };
      },
    });
    const read = (await unlinkedEvents(t.app.models, redis, prefix()).read([key])).get(key);
    expect(setAside).toBe(true);
    expect(await t.app.redis.exists(`${prefix()}:unlinked:${key}`)).toBe(0);
    expect(read).toMatchObject({ complete: true, marked: true });
    expect(read?.events).toHaveLength(2);
  });

  it('a mark written behind the set is not read while the set is complete, and is once Redis lost it', async () => {
    await prepareUnlinkedRecords(t.app.models, t.app.redis, prefix());
    await fillMarkRecords(t.app.models, t.app.redis, prefix());
    const visitor = `ghost-mark-${randomUUID()}`;
    const key = `${t.site.siteId}:${visitor}`;
    await t.app.models.UnlinkedVisitor.create({ _id: key, siteId: new Types.ObjectId(t.site.siteId), at: new Date() });
    expect((await records.read([key])).get(key)).toMatchObject({ complete: true, marked: false });
    await t.app.redis.del(`${prefix()}:unlinked-marked-ready:${t.site.siteId}`);
    expect((await records.read([key])).get(key)).toMatchObject({ complete: false, marked: true });
    await fillMarkRecords(t.app.models, t.app.redis, prefix());
    expect((await records.read([key])).get(key)).toMatchObject({ complete: false, marked: true });
  });
});
