import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { PrivateRedis } from './helpers/private-services.js';

let redis: PrivateRedis;
let t: TestApp;
beforeAll(async () => {
  redis = await PrivateRedis.create();
  t = await startTestApp({ env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  await redis?.start().catch(() => {});
  await t?.close();
  await redis?.destroy();
});

describe('Redis unavailable', () => {
  it('answers 503 with Retry-After, never 202, while Redis is down; accepts again once it is back', async () => {
    const before = clientEvent();
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [before] })).status).toBe(202);

    await redis.stop();
    const during = clientEvent();
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [during] });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('TM_ERR_QUEUE_UNAVAILABLE');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const ready = await fetch(`${t.url}/ready`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).redis).toBe('down');

    await redis.start();
    const after = clientEvent();
    await waitFor(
      async () => (await postEvents(t.url, { writeKey: t.site.writeKey, batch: [after] })).status === 202,
      20_000,
      '202 after Redis is back',
    );
    const events = t.db.collection('events');
    await waitFor(
      async () => (await events.countDocuments({ messageId: { $in: [before.messageId, after.messageId] } })) === 2,
      20_000,
      'events stored',
    );
  }, 60_000);
});
