import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../src/ingest/index.js';
import {
  copyLinks,
  type LinkMirror,
  linkMirror,
  linksKey,
  linksReadyKey,
  processEvents,
  unlinkedEvents,
} from '../src/pipeline/index.js';
import { createSite } from '../src/sites/index.js';
import { queuedEvent, runAll, shuffle, startTestApp, type TestApp } from './helpers/harness.js';

/**
 * The Redis copy of the sites' visitor-id links (pipeline/link-mirror.ts): the worker reads it instead of
 * `identities` once the keeper has copied a site, writes every link it makes to it, and anything else that
 * changes links drops the site's copy, so that its answers — "linked to P", "not linked" — are never stale.
 */
describe('the Redis copy of visitor-id links', () => {
  let t: TestApp;
  let mirror: LinkMirror;
  const prefix = () => t.config.queuePrefix;

  beforeAll(async () => {
    // no worker: the keeper would copy the sites on its own schedule; here each test copies when it means to
    t = await startTestApp({ worker: false });
    mirror = linkMirror(t.app.redis, prefix());
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  const key = (visitor: string, siteId = t.site.siteId) => `${siteId}:${visitor}`;
  const queued = (over: Partial<QueuedEvent> & Pick<QueuedEvent, 'anonymousId'>) => queuedEvent(t.site.siteId, over);
  const identify = (anonymousId: string) => {
    const email = `m-${randomUUID().slice(0, 8)}@example.com`;
    return queued({
      anonymousId,
      name: 'identify',
      properties: { email },
      profile: { email, consentSource: 'identify' },
    });
  };
  const run = (events: QueuedEvent[]) =>
    processEvents(
      t.app.models,
      events.map((e) => structuredClone(e)),
      { jobKey: `job-${randomUUID()}`, mirror },
    );
  const storedProfileOf = async (messageId: string) =>
    (await t.db.collection('events').findOne({ messageId }))?.profileId as Types.ObjectId | null | undefined;
  const linkOf = async (visitor: string) =>
    (await t.db.collection('identities').findOne({ _id: key(visitor) } as never))?.profileId as Types.ObjectId;

  it('copies a site once: answers linked and unlinked visitor ids, and nothing for a site not copied', async () => {
    const linked = `l-${randomUUID()}`;
    await run([identify(linked)]);
    const profileId = await linkOf(linked);
    expect(profileId).toBeInstanceOf(Types.ObjectId);
    const other = await createSite(t.app.models, { name: 'Other shop', origins: ['https://other.test'] });
    await t.app.redis.del(linksReadyKey(prefix(), t.site.siteId)); // whatever was copied before
    expect((await mirror.read([key(linked)])).size).toBe(0); // not complete: not answered

    const copied = await copyLinks(t.app.models, t.app.redis, prefix());
    expect(copied.sites).toBeGreaterThanOrEqual(2); // this site and the new one
    const stranger = `s-${randomUUID()}`;
    await t.app.redis.del(linksReadyKey(prefix(), other.siteId)); // as if the other site were never copied
    const answer = await mirror.read([key(linked), key(stranger), key(stranger, other.siteId)]);
    expect(answer.get(key(linked))?.equals(profileId)).toBe(true);
    expect(answer.has(key(stranger))).toBe(true);
    expect(answer.get(key(stranger))).toBeNull();
    expect(answer.has(key(stranger, other.siteId))).toBe(false);
  });

  it('storing events reads the copy, not identities, and falls back to identities once the copy is dropped', async () => {
    await copyLinks(t.app.models, t.app.redis, prefix());
    const visitor = `v-${randomUUID()}`;
    await run([identify(visitor)]);
    const profileId = await linkOf(visitor);
    // the job wrote the link to the copy as well
    expect(await t.app.redis.hget(linksKey(prefix(), t.site.siteId), visitor)).toBe(profileId.toHexString());

    // only the copy knows the link now: an event stored with the profile can only have been linked through it
    await t.db.collection('identities').deleteOne({ _id: key(visitor) } as never);
    const seen = queued({ anonymousId: visitor });
    await run([seen]);
    expect((await storedProfileOf(seen.messageId))?.equals(profileId)).toBe(true);

    await mirror.invalidate([t.site.siteId]);
    expect(await t.app.redis.exists(linksReadyKey(prefix(), t.site.siteId))).toBe(0);
    const after = queued({ anonymousId: visitor });
    await run([after]);
    expect(await storedProfileOf(after.messageId)).toBeNull(); // identities, asked now, has no link
  });

  it('a copy invalidated while it is made is not trusted', async () => {
    await mirror.invalidate([t.site.siteId]);
    // the site's copy is invalidated right after the keeper emptied its hash, before it read identities
    const racing = new Proxy(t.app.redis, {
      get(target, prop, receiver) {
        if (prop !== 'unlink') return Reflect.get(target, prop, receiver);
        return async (...keys: string[]) => {
          const n = await target.unlink(...keys);
          if (keys.includes(linksKey(prefix(), t.site.siteId))) await mirror.invalidate([t.site.siteId]);
          return n;
        };
      },
    }) as Redis;
    await copyLinks(t.app.models, racing, prefix());
    expect(await t.app.redis.exists(linksReadyKey(prefix(), t.site.siteId))).toBe(0);
    expect((await mirror.read([key('anyone')])).size).toBe(0);
    await copyLinks(t.app.models, t.app.redis, prefix());
    expect(await t.app.redis.exists(linksReadyKey(prefix(), t.site.siteId))).toBe(1);
  });

  it('a link the worker writes while the site is copied is not overwritten by the older one the copy read', async () => {
    const visitor = `w-${randomUUID()}`;
    await run([identify(visitor)]);
    const older = await linkOf(visitor);
    const newer = new Types.ObjectId();
    await mirror.invalidate([t.site.siteId]);
    // the worker re-links the visitor (identities, then the copy) after the keeper read identities, before it
    // wrote what it read
    let wrote = false;
    const racing = new Proxy(t.app.redis, {
      get(target, prop, receiver) {
        if (prop !== 'pipeline') return Reflect.get(target, prop, receiver);
        return () => {
          const pipeline = target.pipeline();
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = async () => {
            if (!wrote) {
              wrote = true;
              await t.db
                .collection('identities')
                .updateOne({ _id: key(visitor) } as never, { $set: { profileId: newer } });
              await mirror.write(new Map([[key(visitor), newer]]));
            }
            return exec();
          };
          return pipeline;
        };
      },
    }) as Redis;
    await copyLinks(t.app.models, racing, prefix());
    expect(wrote).toBe(true);
    const answer = await mirror.read([key(visitor)]);
    expect(answer.get(key(visitor))?.equals(newer)).toBe(true);
    expect(answer.get(key(visitor))?.equals(older)).toBe(false);
  });

  it('page views, identify and alias of 40 visitors in random order, 8 at a time, jobs redelivered: all linked, the copy equal to identities', async () => {
    await copyLinks(t.app.models, t.app.redis, prefix());
    const records = unlinkedEvents(t.app.models, t.app.redis, prefix());
    const visitors: string[] = [];
    const jobs: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) {
      const visitor = `race-${randomUUID()}`;
      const previous = `before-${randomUUID()}`;
      visitors.push(visitor, previous);
      const sequence = [
        queued({ anonymousId: previous }),
        queued({ anonymousId: visitor }),
        identify(visitor),
        queued({ anonymousId: visitor }),
        queued({ anonymousId: visitor, name: 'alias', properties: { previousId: previous } }),
        queued({ anonymousId: previous, name: 'add_to_cart', properties: { productId: 'p', quantity: 1 } }),
      ];
      for (const event of sequence) {
        const job = () =>
          processEvents(t.app.models, [structuredClone(event)], { jobKey: event.messageId, mirror, unlinked: records });
        jobs.push(job);
        if (Math.random() < 0.2) jobs.push(job); // the same job delivered twice
      }
    }
    await runAll(shuffle(jobs), 8);
    const links = await t.db
      .collection<{ anonymousId: string; profileId: Types.ObjectId }>('identities')
      .find({ anonymousId: { $in: visitors } })
      .toArray();
    expect(links).toHaveLength(visitors.length);
    const linkOfVisitor = new Map(links.map((l) => [l.anonymousId, l.profileId]));
    const copy = await mirror.read(visitors.map((v) => key(v)));
    const events = await t.db
      .collection<{ messageId: string; anonymousId: string; profileId: Types.ObjectId | null }>('events')
      .find({ anonymousId: { $in: visitors } })
      .toArray();
    expect(events).toHaveLength(40 * 6);
    const wrong = [
      ...visitors.flatMap((v) => (copy.get(key(v))?.equals(linkOfVisitor.get(v)!) ? [] : [`copy of ${v}`])),
      ...events.flatMap((e) => (e.profileId?.equals(linkOfVisitor.get(e.anonymousId)!) ? [] : [e.messageId])),
    ];
    expect(wrong).toEqual([]);
  }, 300_000);

  it("erasing a person drops the site's copy (their links are gone from identities)", async () => {
    await copyLinks(t.app.models, t.app.redis, prefix());
    const visitor = `e-${randomUUID()}`;
    await run([identify(visitor)]);
    const profileId = await linkOf(visitor);
    expect(await t.app.redis.exists(linksReadyKey(prefix(), t.site.siteId))).toBe(1);
    const res = await fetch(`${t.url}/api/profiles/${profileId.toHexString()}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t.site.secretKey}` },
    });
    expect(res.status).toBe(200);
    expect(await t.app.redis.exists(linksReadyKey(prefix(), t.site.siteId))).toBe(0);
    expect(await t.app.redis.hget(linksKey(prefix(), t.site.siteId), visitor)).toBeNull();
    await copyLinks(t.app.models, t.app.redis, prefix());
    expect((await mirror.read([key(visitor)])).get(key(visitor))).toBeNull();
  });
});
