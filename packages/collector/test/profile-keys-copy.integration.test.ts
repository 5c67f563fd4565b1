import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../src/ingest/index.js';
import { processEvents } from '../src/pipeline/index.js';
import { copyProfileKeys, type ProfileKeysCopy, profileDocLock, profileKeysCopy } from '../src/profiles/index.js';
import { createSite } from '../src/sites/index.js';
import { queuedEvent, runAll, shuffle, startTestApp, type TestApp } from './helpers/harness.js';

/**
 * The Redis copy of which profile holds each userId and e-mail (profiles/profile-keys-copy.ts): with it the worker
 * reads and writes a job's profiles by `_id` and creates new ones by insert; what it stores must be what finding
 * profiles by userKey/emailKey stores, and a hint that no longer holds, or a key the copy misses, must not lead
 * to a write to the wrong profile or to a second profile.
 */
describe('the Redis copy of profile keys', () => {
  let t: TestApp;
  let copy: ProfileKeysCopy;
  const prefix = () => t.config.queuePrefix;

  beforeAll(async () => {
    // no worker: its keeper would copy sites on its own schedule; here each test copies when it means to
    t = await startTestApp({ worker: false });
    copy = profileKeysCopy(t.app.redis, prefix());
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  const freshSite = async () => {
    const site = await createSite(t.app.models, {
      name: `Shop ${randomUUID().slice(0, 6)}`,
      origins: ['https://s.test'],
    });
    return site.siteId;
  };
  const identify = (siteId: string, anonymousId: string | null, email: string, extra: Record<string, string> = {}) =>
    queuedEvent(siteId, {
      anonymousId,
      name: 'identify',
      properties: { email, ...extra },
      profile: { email, consentSource: 'identify', ...extra },
    });
  const backend = (siteId: string, userId: string, email: string) =>
    queuedEvent(siteId, {
      anonymousId: null,
      name: 'identify',
      source: 'server',
      properties: { email },
      profile: { email, userId },
    });
  const run = (events: QueuedEvent[], withCopy: ProfileKeysCopy | undefined = copy) =>
    processEvents(
      t.app.models,
      events.map((e) => structuredClone(e)),
      {
        jobKey: `job-${randomUUID()}`,
        profileKeys: withCopy,
        lockProfiles: profileDocLock(t.app.redis, prefix()),
      },
    );
  const profilesOf = (siteId: string) =>
    t.db
      .collection('profiles')
      .find({ siteId: new Types.ObjectId(siteId) })
      .toArray();
  const hintOf = async (key: string) => (await copy.read([key])).get(key);

  it('a copied site: a new person is inserted, found by _id afterwards, and the copy learns every key given', async () => {
    const siteId = await freshSite();
    expect((await copyProfileKeys(t.app.models, t.app.redis, prefix())).sites).toBeGreaterThanOrEqual(1);
    const email = `ana-${randomUUID().slice(0, 6)}@shop.test`;
    expect(await hintOf(`e|${siteId}|${email}`)).toBeNull(); // complete, and nobody holds it

    await run([identify(siteId, 'v1', email)]);
    let [profile, ...more] = await profilesOf(siteId);
    expect(more).toHaveLength(0);
    expect(profile).toMatchObject({ email, emailKey: `${siteId}|${email}`, anonymousIds: ['v1'] });
    expect(profile!.consent).toEqual({ email: false });
    expect(await hintOf(`e|${siteId}|${email}`)).toBe(profile!._id.toHexString());

    await run([identify(siteId, 'v2', email, { firstName: 'Ana' })]);
    [profile, ...more] = await profilesOf(siteId);
    expect(more).toHaveLength(0);
    expect(profile).toMatchObject({ firstName: 'Ana' });
    expect([...profile!.anonymousIds].sort()).toEqual(['v1', 'v2']);

    // a backend binds a userId to the address: the e-mail's profile takes it, and the copy knows it by both keys
    await run([backend(siteId, 'user-7', email)]);
    [profile, ...more] = await profilesOf(siteId);
    expect(more).toHaveLength(0);
    expect(profile).toMatchObject({ userId: 'user-7', userKey: `${siteId}|user-7` });
    expect(await hintOf(`u|${siteId}|user-7`)).toBe(profile!._id.toHexString());
    const stored = await t.db
      .collection('events')
      .find({ siteId: new Types.ObjectId(siteId) })
      .toArray();
    expect(stored).toHaveLength(3);
    for (const e of stored) expect(e.profileId?.equals(profile!._id)).toBe(true);
  });

  it('a hint that no longer holds is not written to; a key the copy misses is found, not created twice', async () => {
    const siteId = await freshSite();
    await copyProfileKeys(t.app.models, t.app.redis, prefix());
    const a = `a-${randomUUID().slice(0, 6)}@shop.test`;
    const b = `b-${randomUUID().slice(0, 6)}@shop.test`;
    await run([identify(siteId, 'va', a), identify(siteId, 'vb', b)]);
    const before = await profilesOf(siteId);
    const idOf = (email: string) => before.find((p) => p.email === email)!._id as Types.ObjectId;

    // the copy says b's profile holds a (stale): a's own profile is the one updated
    await copy.write(new Map([[`e|${siteId}|${a}`, idOf(b)]]));
    await run([identify(siteId, 'va2', a, { firstName: 'Alma' })]);
    let after = await profilesOf(siteId);
    expect(after).toHaveLength(2);
    expect(after.find((p) => p.email === a)).toMatchObject({ firstName: 'Alma' });
    expect(after.find((p) => p.email === b)!.firstName).toBeUndefined();
    expect(after.find((p) => p.email === b)!.anonymousIds).toEqual(['vb']);
    expect(await hintOf(`e|${siteId}|${a}`)).toBe(idOf(a).toHexString()); // set right again

    // the copy misses b although it is complete: the insert is refused, and b's profile is updated
    await t.app.redis.hdel(`${prefix()}:profile-keys:${siteId}`, `e|${siteId}|${b}`);
    expect(await hintOf(`e|${siteId}|${b}`)).toBeNull();
    await run([identify(siteId, 'vb2', b, { firstName: 'Bea' })]);
    after = await profilesOf(siteId);
    expect(after).toHaveLength(2);
    expect(after.find((p) => p.email === b)).toMatchObject({ firstName: 'Bea' });
    expect([...after.find((p) => p.email === b)!.anonymousIds].sort()).toEqual(['vb', 'vb2']);
    expect(await hintOf(`e|${siteId}|${b}`)).toBe(idOf(b).toHexString());

    // a profile erased since its key was copied: the next identify creates the person again, once
    await t.db.collection('profiles').deleteOne({ _id: idOf(a) });
    await run([identify(siteId, 'va3', a)]);
    after = await profilesOf(siteId);
    expect(after.filter((p) => p.email === a)).toHaveLength(1);
    expect(after.find((p) => p.email === a)!._id.equals(idOf(a))).toBe(false);
  });

  /** A site's profiles as comparable values (ids differ between sites). */
  const shapeOf = async (siteId: string) =>
    (await profilesOf(siteId))
      .map((p) => ({
        email: p.email ?? null,
        userId: p.userId ?? null,
        visitors: [...(p.anonymousIds ?? [])].sort(),
        names: [p.firstName ?? null, p.lastName ?? null, p.namesFrom ?? null],
        claimed: p.unverifiedEmail?.email ?? null,
        consent: p.consent?.email ?? null,
      }))
      .sort((x, y) => `${x.userId}|${x.email}`.localeCompare(`${y.userId}|${y.email}`));

  it('the same jobs store the same profiles with and without the copy; 8 at a time in random order, no key is held twice and the copy ends equal to MongoDB', async () => {
    const [withCopy, without] = [await freshSite(), await freshSite()];
    await copyProfileKeys(t.app.models, t.app.redis, prefix());
    // 30 people: browser identifies (some named, some claiming a userId), backends binding userIds, page views
    const jobsFor = (siteId: string) => {
      const jobs: QueuedEvent[][] = [];
      for (let i = 0; i < 30; i++) {
        const email = `p${i}@shop.test`;
        jobs.push([identify(siteId, `v${i}`, email)]);
        jobs.push([
          queuedEvent(siteId, { anonymousId: `v${i}` }),
          identify(siteId, `w${i}`, email, { firstName: `N${i}` }),
        ]);
        if (i % 3 === 0) jobs.push([backend(siteId, `u${i}`, email)]);
        if (i % 5 === 0) jobs.push([backend(siteId, `u${i}`, `new${i}@shop.test`)]); // the user's new address
        if (i % 4 === 0) {
          // a user known by userId alone, an address known alone, then a backend binds them: one merge
          jobs.push([
            queuedEvent(siteId, {
              anonymousId: `m${i}`,
              source: 'server',
              name: 'signup',
              profile: { userId: `m${i}` },
            }),
          ]);
          jobs.push([identify(siteId, `q${i}`, `q${i}@shop.test`)]);
          jobs.push([backend(siteId, `m${i}`, `q${i}@shop.test`)]);
        }
        if (i % 7 === 0)
          jobs.push([
            queuedEvent(siteId, {
              anonymousId: `x${i}`,
              name: 'identify',
              properties: {},
              profile: { email: `p${i + 1}@shop.test`, userId: `u${i}` }, // a browser's claim: binds nothing
            }),
          ]);
      }
      return jobs;
    };
    const a = jobsFor(withCopy);
    const b = jobsFor(without);
    // one order for both sites, one job at a time: the stored profiles must match
    for (let i = 0; i < a.length; i++) {
      await run(a[i]!);
      await run(b[i]!, undefined);
    }
    const expected = await shapeOf(without);
    expect(expected.length).toBeGreaterThanOrEqual(30);
    // the merges happened: the address's profile went into the user's
    expect(expected.filter((p) => p.email === 'q0@shop.test')).toEqual([
      expect.objectContaining({ userId: 'm0', visitors: ['m0', 'q0'] }),
    ]);
    expect(await shapeOf(withCopy)).toEqual(expected);

    // again on two new sites, 8 jobs at a time in random order, with the copy: same people, no key twice
    const racy = await freshSite();
    await copyProfileKeys(t.app.models, t.app.redis, prefix());
    await runAll(
      shuffle(jobsFor(racy)).map((job) => () => run(job)),
      8,
    );
    const racyProfiles = await profilesOf(racy);
    const emails = racyProfiles.flatMap((p) => (p.email ? [p.email] : []));
    const userIds = racyProfiles.flatMap((p) => (p.userId ? [p.userId] : []));
    expect(new Set(emails).size).toBe(emails.length);
    expect(new Set(userIds).size).toBe(userIds.length);
    // (which address a user ends with, and so how many profiles there are, depends on the order: a user's new
    // address replaces the old one, which a later identify then gives a profile of its own)
    expect(racyProfiles.length).toBeGreaterThanOrEqual(30);
    const ids = new Set(racyProfiles.map((p) => p._id.toHexString()));
    const events = await t.db
      .collection('events')
      .find({ siteId: new Types.ObjectId(racy) })
      .toArray();
    expect(events.length).toBe(jobsFor(racy).flat().length);
    for (const e of events) if (e.name === 'identify') expect(ids.has(e.profileId?.toHexString())).toBe(true);
    // every key a profile holds is in the copy, naming that profile
    const keys = racyProfiles.flatMap((p) => [
      ...(p.userKey ? [[`u|${p.userKey}`, p._id.toHexString()]] : []),
      ...(p.emailKey ? [[`e|${p.emailKey}`, p._id.toHexString()]] : []),
    ]);
    const hints = await copy.read(keys.map(([k]) => k!));
    for (const [key, id] of keys) expect([key, hints.get(key!)]).toEqual([key, id]);
  }, 180_000);
});
