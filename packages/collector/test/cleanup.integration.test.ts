import { MongoClient } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { countRedisKeys } from '../../../test/helpers/redis-keys.mjs';
import { clientEvent, postEvents, startTestApp, storedEvents, type TestApp } from './helpers/harness.js';

/** A test file leaves nothing behind: the harness's close() removes its database and its Redis keys. */
describe('test clean-up', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });

  it('close() drops the database and deletes every Redis key under the queue prefix', async () => {
    const { REDIS_URL: redis, TRACKMATE_QUEUE_PREFIX: prefix, MONGODB_URI: uri } = t.env;
    const event = clientEvent();
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, ...event })).status).toBe(202);
    await storedEvents(() => t).waitStored([event.messageId as string]);
    expect(await countRedisKeys(redis!, prefix!)).toBeGreaterThan(0); // the queues' keys, at least

    await t.close();

    expect(await countRedisKeys(redis!, prefix!)).toBe(0);
    const client = new MongoClient(uri!, { serverSelectionTimeoutMS: 5_000 });
    try {
      expect(await client.db().collection('events').countDocuments()).toBe(0);
      expect(await client.db().collection('sites').countDocuments()).toBe(0);
    } finally {
      await client.close();
    }
  });
});
