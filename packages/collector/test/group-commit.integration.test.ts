import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite } from '../src/sites/create-site.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { PrivateRedis } from './helpers/private-services.js';

// The group commit: requests accepted within TRACKMATE_INGEST_GROUP_MS of each other become one ingest job
// (here whatever the backlog: TRACKMATE_INGEST_GROUP_BACKLOG=0).
// A generous window, so that requests sent together arrive within it on a loaded machine; an idle connection
// held open, so that the batcher cannot see every connection waiting and write early.
const GROUP_MS = '1000';

/** An idle keep-alive connection to the collector (a browser between two requests). */
async function idleConnection(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

describe('group commit: requests sent together share one ingest job', () => {
  let t: TestApp;
  let idle: Socket;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_INGEST_GROUP_MS: GROUP_MS, TRACKMATE_INGEST_GROUP_BACKLOG: '0' } });
    idle = await idleConnection(t.url);
  });
  afterAll(async () => {
    idle?.destroy();
    await t?.close();
  });

  it('stores concurrent requests of two sites as one job, each answered for itself, bad ones with their own 4xx', async () => {
    const other = await createSite(t.app.models, { name: 'Other shop', origins: ['https://other.test'] });
    const visitors = Array.from({ length: 6 }, (_, i) => `group-visitor-${i}`);
    // browser-shaped requests: 1-3 events of one visitor each, one of them an identify
    const good = visitors.map((anonymousId, i) =>
      Array.from({ length: 1 + (i % 3) }, (_, k) =>
        clientEvent(
          i === 2 && k === 0
            ? { anonymousId, name: 'identify', properties: { email: `buyer-${i}@shop.test` } }
            : { anonymousId },
        ),
      ),
    );
    const otherSite = [clientEvent({ anonymousId: 'group-other-visitor' })];
    const halfBad = [clientEvent({ anonymousId: 'group-half' }), clientEvent({ anonymousId: 'group-half', name: '' })];
    const allBad = [clientEvent({ anonymousId: 'group-bad', timestamp: 'not a time' })];
    const unknownKey = [clientEvent({ anonymousId: 'group-unknown-key' })];

    const [goodAnswers, otherAnswer, halfAnswer, badAnswer, unknownAnswer] = await Promise.all([
      Promise.all(good.map((batch) => postEvents(t.url, { writeKey: t.site.writeKey, batch }))),
      postEvents(t.url, { writeKey: other.writeKey, batch: otherSite }),
      postEvents(t.url, { writeKey: t.site.writeKey, batch: halfBad }),
      postEvents(t.url, { writeKey: t.site.writeKey, batch: allBad }),
      postEvents(t.url, { writeKey: 'wk_not_a_key_of_anyone', batch: unknownKey }),
    ]);

    goodAnswers.forEach((res, i) => {
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ accepted: good[i]!.length, rejected: [] });
    });
    expect(otherAnswer.status).toBe(202);
    expect(halfAnswer.status).toBe(202);
    expect(halfAnswer.body).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
    expect(badAnswer.status).toBe(400);
    expect(badAnswer.body.code).toBe('TM_ERR_INVALID_PAYLOAD');
    expect(unknownAnswer.status).toBe(401);
    expect(unknownAnswer.body.code).toBe('TM_ERR_UNKNOWN_KEY');

    const accepted = [...good.flat(), ...otherSite, halfBad[0]!].map((e) => e.messageId as string);
    const events = t.db.collection('events');
    const stored = await waitFor(async () => {
      const docs = await events.find({ messageId: { $in: accepted } }).toArray();
      return docs.length === accepted.length && docs;
    }, 30_000);
    // one job: every accepted event carries the same job key, whatever its request or site
    expect(new Set(stored.map((d) => d.ingestJob)).size).toBe(1);
    expect(new Set(stored.map((d) => d.siteId.toHexString()))).toEqual(
      new Set([t.site.siteId, other.siteId].map(String)),
    );
    // each event stored once, with its own site; the refused ones not at all
    expect(stored.filter((d) => d.messageId === otherSite[0]!.messageId)[0]?.siteId.toHexString()).toBe(
      String(other.siteId),
    );
    const refused = [halfBad[1]!, ...allBad, ...unknownKey].map((e) => e.messageId as string);
    expect(await events.countDocuments({ messageId: { $in: refused } })).toBe(0);
    // the identify in the shared job linked its own visitor only
    const identified = await waitFor(
      () => events.find({ anonymousId: 'group-visitor-2', profileId: { $ne: null } }).toArray(),
      30_000,
    );
    expect(identified).toHaveLength(good[2]!.length);
    expect(await events.countDocuments({ anonymousId: 'group-visitor-1', profileId: { $ne: null } })).toBe(0);
  }, 90_000);
});

describe('group commit: a failed write fails every request of the job', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let idle: Socket;
  beforeAll(async () => {
    redis = await PrivateRedis.create();
    t = await startTestApp({
      env: { REDIS_URL: redis.url, TRACKMATE_INGEST_GROUP_MS: GROUP_MS, TRACKMATE_INGEST_GROUP_BACKLOG: '0' },
    });
    idle = await idleConnection(t.url);
  });
  afterAll(async () => {
    idle?.destroy();
    await redis?.start().catch(() => {});
    await t?.close();
    await redis?.destroy();
  });

  it('answers 503 with Retry-After to every request of a job Redis did not take, and stores none of them', async () => {
    await redis.stop();
    const batches = Array.from({ length: 5 }, (_, i) =>
      Array.from({ length: 1 + i }, () => clientEvent({ anonymousId: `failed-${i}` })),
    );
    const answers = await Promise.all(batches.map((batch) => postEvents(t.url, { writeKey: t.site.writeKey, batch })));
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('TM_ERR_QUEUE_UNAVAILABLE');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    await redis.start();
    const after = clientEvent({ anonymousId: 'after-restart' });
    await waitFor(
      async () => (await postEvents(t.url, { writeKey: t.site.writeKey, batch: [after] })).status === 202,
      30_000,
      '202 once Redis is back',
    );
    const events = t.db.collection('events');
    await waitFor(async () => (await events.countDocuments({ messageId: after.messageId })) === 1, 30_000);
    const refused = batches.flat().map((e) => e.messageId as string);
    expect(await events.countDocuments({ messageId: { $in: refused } })).toBe(0);
    expect(await t.db.collection('dead_letters').countDocuments({})).toBe(0);
  }, 120_000);
});
