import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startReceiver } from './helpers/webhook-receiver.js';

/** Every string value under the installation's prefix, with the key that holds it. */
async function everythingUnder(redis: Redis, prefix: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const values =
        type === 'string'
          ? [(await redis.get(key)) ?? '']
          : type === 'hash'
            ? Object.values(await redis.hgetall(key))
            : type === 'list'
              ? await redis.lrange(key, 0, -1)
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, 0, -1)
                  : [];
      for (const v of values) out.push([key, v]);
    }
  } while (cursor !== '0');
  return out;
}

// Regression (issue 22): completed webhook jobs kept an erased person's e-mail and name in Redis for 24 h, and
// erasure and site deletion skip completed jobs.
describe('completed jobs keep ids, not bodies', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver(() => 200);
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("a delivered webhook's job keeps its ids for a day but no longer the person's e-mail or name", async () => {
    const created = await adminCall(t.url, t.site.secretKey, 'POST', '/api/webhooks', {
      url: receiver.url,
      events: ['identify'],
    });
    expect(created.status).toBe(201);
    const email = `completed-${Date.now()}@example.com`;
    const identify = clientEvent({ name: 'identify', properties: { email, firstName: 'Zelda', lastName: 'Quist' } });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [identify] })).status).toBe(202);
    await waitFor(() => receiver.requests.some((r) => r.body.includes(email)), 15_000, 'the delivery');
    const job = await waitFor(
      async () => {
        const [done] = await t.app.queues.webhooks.getJobs(['completed']);
        return done && done.data.body === '' ? done : null;
      },
      5_000,
      'the scrubbed completed job',
    );
    expect(job.data).toMatchObject({ siteId: t.site.siteId, messageId: identify.messageId, url: '' });
    expect(job.data.deliveryId).toEqual(expect.any(String));
    const held = await everythingUnder(t.app.redis as Redis, t.config.queuePrefix);
    expect(held.length).toBeGreaterThan(0);
    for (const secret of [email, 'Zelda', 'Quist']) {
      expect(
        held.filter(([, v]) => v.includes(secret)).map(([k]) => k),
        secret,
      ).toEqual([]);
    }
  });
});
