import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capBrowserLinks } from '../src/pipeline/link-quota.js';
import { type ProfileDocLock, profileDocLock } from '../src/profiles/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

/**
 * The daily number of visitor ids browsers may link to one profile (pipeline/link-quota.ts), counted in one
 * `link_quotas` document per profile: made by the first count of a new person, reset on a new day.
 */
describe('daily link quotas', () => {
  let t: TestApp;
  /** The ingest worker's lock of profile documents (Redis), which the counts are made under. */
  let lock: ProfileDocLock;
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    lock = profileDocLock(t.app.redis, t.config.queuePrefix);
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  /** Counts these many new visitor ids of `profileId` against a cap; returns how many were refused. */
  const count = (profileId: Types.ObjectId, n: number, cap: number) => {
    const links = new Map(
      Array.from({ length: n }, () => [`${t.site.siteId}:v-${randomUUID()}`, profileId] as [string, Types.ObjectId]),
    );
    return capBrowserLinks(t.app.models, links, new Set(links.keys()), cap, undefined, lock);
  };

  const quota = (profileId: Types.ObjectId) =>
    t.db.collection('link_quotas').findOne({ _id: profileId.toHexString() as never });
  const today = () => new Date().toISOString().slice(0, 10);

  it("a new person's first links make the day's count; links past the cap are refused", async () => {
    const profileId = new Types.ObjectId();
    expect(await count(profileId, 3, 5)).toBe(0);
    expect(await quota(profileId)).toMatchObject({ day: today(), n: 3, siteId: new Types.ObjectId(t.site.siteId) });
    expect(await count(profileId, 4, 5)).toBe(2);
    expect(await quota(profileId)).toMatchObject({ day: today(), n: 7 });
  });

  it('jobs counting one person at the same time refuse exactly the links past the cap', async () => {
    // FerretDB 1.24 can lose one of two concurrent updates of a document: counted without the profile's lock,
    // 8 simultaneous counts of 1 ended at 2 to 7, and more links than the cap were let through
    for (let round = 0; round < 3; round++) {
      const profileId = new Types.ObjectId();
      const refused = await Promise.all(Array.from({ length: 8 }, () => count(profileId, 1, 4)));
      expect(refused.reduce((a, b) => a + b, 0)).toBe(4);
      expect(await quota(profileId)).toMatchObject({ day: today(), n: 8 });
    }
  });

  it("a count of another day is started again from today's links", async () => {
    const profileId = new Types.ObjectId();
    await t.db.collection('link_quotas').insertOne({
      _id: profileId.toHexString() as never,
      siteId: new Types.ObjectId(t.site.siteId),
      day: '2020-01-01',
      n: 50,
    });
    expect(await count(profileId, 2, 3)).toBe(0);
    expect(await quota(profileId)).toMatchObject({ day: today(), n: 2 });
  });
});
