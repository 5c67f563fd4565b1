import type { Job } from 'bullmq';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestJob, jobEvents } from '../src/pipeline/index.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp } from './helpers/harness.js';

describe('erasure of what Redis still holds', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false }); // nothing drains: the events wait in Redis
  });
  afterAll(async () => {
    await t?.close();
  });

  it("takes the person's events out of jobs still queued and leaves everyone else's", async () => {
    const now = new Date();
    const profile = await t.app.models.Profile.create({
      siteId: new Types.ObjectId(t.site.siteId),
      email: 'queued@example.com',
      consent: { email: false },
      consentHistory: [],
      anonymousIds: ['anon-queued'],
      createdAt: now,
      updatedAt: now,
    });
    const theirs = [clientEvent({ anonymousId: 'anon-queued' }), clientEvent({ anonymousId: 'anon-queued' })];
    const others = [clientEvent({ anonymousId: 'someone-else' })];
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [...theirs, ...others] })).status).toBe(202);
    expect(
      (await postEvents(t.url, { writeKey: t.site.writeKey, batch: [clientEvent({ anonymousId: 'anon-queued' })] }))
        .status,
    ).toBe(202);

    const res = await adminCall(t.url, t.site.secretKey, 'DELETE', `/api/profiles/${profile._id}`);
    expect(res.status).toBe(200);
    expect(res.body.deleted).toMatchObject({ profiles: 1, queuedEvents: 3, queuedDeliveries: 0 });
    const waiting = (await t.app.queues.ingest.getWaiting()) as Array<Job<IngestJob>>;
    const left = waiting.flatMap((j) => jobEvents(j.data));
    expect(left.map((e) => e.anonymousId)).toEqual(['someone-else']);
  });
});
