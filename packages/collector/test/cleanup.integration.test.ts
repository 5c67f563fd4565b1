import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { countRedisKeys } from '../../../test/helpers/redis-keys.mjs';
import { clientEvent, postEvents, startTestApp, storedEvents } from './helpers/harness.js';

/** A test file leaves nothing behind: the harness's close() removes its database and its Redis keys. */
describe('test clean-up', () => {
  it('close() drops the database and deletes every Redis key under the queue prefix', async () => {
    const t = await startTestApp();
    const { REDIS_URL: redis, TRACKMATE_QUEUE_PREFIX: prefix, MONGODB_URI: uri } = t.env;
    const event = clientEvent();
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, ...event })).status).toBe(202);
    await storedEvents(() => t).waitStored([event.messageId as string]);
    expect(await countRedisKeys(redis!, prefix!)).toBeGreaterThan(0); // the queues' keys, at least

    await t.close();

    expect(await countRedisKeys(redis!, prefix!)).toBe(0);
    const client = new MongoClient(uri!);
    try {
      const { databases } = await client.db().admin().listDatabases();
      expect(databases.map((d) => d.name)).not.toContain(new URL(uri!).pathname.slice(1));
    } finally {
      await client.close();
    }
  });
});
