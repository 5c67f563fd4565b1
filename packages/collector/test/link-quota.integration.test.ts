import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capBrowserLinks } from '../src/pipeline/link-quota.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

/**
 * The daily number of visitor ids browsers may link to one profile (pipeline/link-quota.ts), counted in one
 * `link_quotas` document per profile: made by the first count of a new person, reset on a new day.
 */
describe('daily link quotas', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  /** Counts these many new visitor ids of `profileId` against a cap; returns how many were refused. */
  const count = (profileId: Types.ObjectId, n: number, cap: number) => {
    const links = new Map(
      Array.from({ length: n }, () => [`${t.site.siteId}:v-${randomUUID()}`, profileId] as [string, Types.ObjectId]),
    );
    return capBrowserLinks(t.app.models, links, new Set(links.keys()), cap);
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
