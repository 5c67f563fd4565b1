import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorker } from '../src/app.js';
import type { QueuedEvent } from '../src/ingest/index.js';
import { processEvents } from '../src/pipeline/index.js';
import {
  clientEvent,
  postEvents,
  queuedEvent,
  runAll,
  shuffle,
  startTestApp,
  type TestApp,
  waitFor,
} from './helpers/harness.js';

/**
 * Whatever order the ingest jobs of one visitor run in — on one worker or several, each at concurrency > 1, a
 * job delivered twice — every event of a visitor id linked to a profile ends up carrying that profile's id.
 */

type Row = { messageId: string; anonymousId: string | null; profileId: Types.ObjectId | null };

/** Every event of these visitor ids whose profileId is not the profile their visitor id is linked to. */
async function unlinked(t: TestApp, visitorIds: string[]): Promise<string[]> {
  const links = await t.db
    .collection<{ _id: string; anonymousId: string; profileId: Types.ObjectId }>('identities')
    .find({ anonymousId: { $in: visitorIds } })
    .toArray();
  const linkOf = new Map(links.map((l) => [l.anonymousId, l.profileId]));
  const rows = await t.db
    .collection<Row>('events')
    .find({ anonymousId: { $in: visitorIds } }, { projection: { messageId: 1, anonymousId: 1, profileId: 1 } })
    .toArray();
  const wrong: string[] = [];
  for (const visitor of visitorIds) {
    const profileId = linkOf.get(visitor);
    if (!profileId) {
      wrong.push(`${visitor}: not linked`);
      continue;
    }
    for (const r of rows.filter((row) => row.anonymousId === visitor)) {
      if (!r.profileId?.equals(profileId)) wrong.push(`${r.messageId}: ${String(r.profileId)} ≠ ${profileId}`);
    }
  }
  return wrong;
}

describe('identity links under concurrent ingest jobs', () => {
  let t: TestApp;
  let second: FastifyInstance;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_WORKER_CONCURRENCY: '4' } });
    second = await buildWorker(t.config, { logger: false }); // a second worker process, as `trackmate-collector worker`
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  }, 180_000);

  /** Until `count` events of these visitor ids are stored and every ingest job has run (the end state). */
  const settled = async (ids: string[], count: number) => {
    const stored = () => t.db.collection('events').countDocuments({ anonymousId: { $in: ids } });
    await waitFor(async () => (await stored()) === count, 180_000, `${count} events stored`);
    await drained();
  };

  /** Until the ingest queue has no job waiting, delayed (a retry) or running: the end state. */
  const drained = () =>
    waitFor(
      async () => {
        const counts = await t.app.queues.ingest.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      180_000,
      'the ingest queue drained',
    );

  const queued = (over: Partial<QueuedEvent> & Pick<QueuedEvent, 'anonymousId'>) => queuedEvent(t.site.siteId, over);

  it('page views before and after identify, and alias(previousId), all end linked in any job order (100 visitors, jobs redelivered)', async () => {
    const visitors: string[] = [];
    for (let round = 0; round < 5; round++) {
      const jobs: Array<() => Promise<unknown>> = [];
      for (let i = 0; i < 20; i++) {
        const visitor = `race-${randomUUID()}`;
        const previous = `before-${randomUUID()}`;
        visitors.push(visitor, previous);
        const email = `r-${randomUUID().slice(0, 8)}@example.com`;
        const sequence = [
          queued({ anonymousId: previous }),
          queued({ anonymousId: visitor }),
          queued({
            anonymousId: visitor,
            name: 'identify',
            properties: { email },
            profile: { email, consentSource: 'identify' },
          }),
          queued({ anonymousId: visitor }),
          queued({ anonymousId: visitor, name: 'alias', properties: { previousId: previous } }),
          queued({ anonymousId: previous, name: 'add_to_cart', properties: { productId: 'p', quantity: 1 } }),
        ];
        for (const event of sequence) {
          const run = () => processEvents(t.app.models, [structuredClone(event)], { jobKey: event.messageId });
          jobs.push(run);
          if (Math.random() < 0.2) jobs.push(run); // the same job delivered twice
        }
      }
      await runAll(shuffle(jobs), 8);
    }
    expect(await unlinked(t, visitors)).toEqual([]);
  }, 600_000);

  it('a retried job whose first attempt stored its event unlinked after the link was made (then crashed) links it', async () => {
    const visitor = `retry-${randomUUID()}`;
    const email = `rt-${randomUUID().slice(0, 8)}@example.com`;
    const view = queued({ anonymousId: visitor });
    await processEvents(t.app.models, [
      queued({
        anonymousId: visitor,
        name: 'identify',
        properties: { email },
        profile: { email, consentSource: 'identify' },
      }),
    ]);
    // the first attempt read no link, then inserted after the identify's back-fill had run, then died
    await t.db.collection('events').insertOne({
      siteId: new Types.ObjectId(t.site.siteId),
      messageId: view.messageId,
      profileId: null,
      anonymousId: visitor,
      sessionId: null,
      name: 'page_view',
      timestamp: new Date(view.timestamp),
      receivedAt: new Date(view.receivedAt),
      properties: view.properties,
      sentBy: 'client',
      userAgent: null,
      ip: null,
    });
    expect(await unlinked(t, [visitor])).toHaveLength(1);
    // the retry finds the link before inserting, and its insert is a duplicate: the stored copy is settled
    const retry = await processEvents(t.app.models, [structuredClone(view)], { jobKey: view.messageId });
    expect(retry.duplicates).toBe(1);
    expect(await unlinked(t, [visitor])).toEqual([]);
  });

  it('over HTTP, each request answered 202 before the next, on two workers at concurrency 4: every event linked', async () => {
    const runs = Array.from({ length: 40 }, () => ({
      visitor: `http-${randomUUID()}`,
      previous: `prev-${randomUUID()}`,
      email: `h-${randomUUID().slice(0, 8)}@example.com`,
    }));
    const send = async (event: Record<string, unknown>) => {
      const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [event] });
      expect(res.status).toBe(202);
    };
    await Promise.all(
      runs.map(async ({ visitor, previous, email }) => {
        await send(clientEvent({ anonymousId: previous }));
        await send(clientEvent({ anonymousId: visitor }));
        await send(clientEvent({ anonymousId: visitor, name: 'identify', properties: { email } }));
        await send(clientEvent({ anonymousId: visitor }));
        await send(clientEvent({ anonymousId: visitor, name: 'alias', properties: { previousId: previous } }));
      }),
    );
    const ids = runs.flatMap((r) => [r.visitor, r.previous]);
    await settled(ids, 200);
    expect(await unlinked(t, ids)).toEqual([]);
  }, 240_000);

  it('through /v1/batch (400 other visitors first) then /v1/identify: the visitor’s track is linked', async () => {
    const basic = `Basic ${Buffer.from(`${t.site.writeKey}:`).toString('base64')}`;
    const segment = async (path: string, body: unknown) => {
      const res = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.text()).toBeLessThan(300);
    };
    const visitors = Array.from({ length: 4 }, () => ({
      anon: `seg-${randomUUID()}`,
      userId: `u-${randomUUID().slice(0, 8)}`,
    }));
    await Promise.all(
      visitors.map(async ({ anon, userId }) => {
        const others = Array.from({ length: 400 }, (_, i) => ({
          type: 'track',
          event: 'Product Viewed',
          anonymousId: `other-${anon}-${i}`,
          messageId: randomUUID(),
        }));
        await segment('/v1/batch', {
          batch: [...others, { type: 'track', event: 'Cart Viewed', anonymousId: anon, messageId: randomUUID() }],
        });
        await segment('/v1/identify', { anonymousId: anon, userId, messageId: randomUUID() });
      }),
    );
    const ids = visitors.map((v) => v.anon);
    await settled(ids, 8);
    expect(await unlinked(t, ids)).toEqual([]);
  }, 420_000);
});
