import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteInSlices } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(async () => {
  await t?.close();
});

describe('deleteInSlices', () => {
  it("deletes every matching document a slice at a time and nobody else's, interleaved in storage order", async () => {
    const siteId = new ObjectId(t.site.siteId);
    const mine = new ObjectId();
    const other = new ObjectId();
    // 2,500 of one profile's events with another profile's between them, in the order they were stored
    const docs = Array.from({ length: 3_000 }, (_, i) => ({
      _id: new ObjectId(),
      siteId,
      messageId: `slice-${i}`,
      profileId: i % 6 === 5 ? other : mine,
      anonymousId: null,
      name: 'page_view',
      timestamp: new Date(),
      receivedAt: new Date(),
      properties: {},
    }));
    await t.db.collection('events').insertMany(docs);
    const deleted = await deleteInSlices(t.app.models.Event, { siteId, profileId: mine }, 1_000);
    expect(deleted).toBe(2_500);
    expect(await t.db.collection('events').countDocuments({ profileId: mine })).toBe(0);
    expect(await t.db.collection('events').countDocuments({ profileId: other })).toBe(500);
    // nothing left to match: a second call deletes nothing
    expect(await deleteInSlices(t.app.models.Event, { siteId, profileId: mine }, 1_000)).toBe(0);
  }, 120_000);
});
