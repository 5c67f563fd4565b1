import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestJob, QueuedEvent } from '../src/ingest/index.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

/** A queued page_view as the track route makes it (what an older collector may have left in Redis). */
function queued(siteId: string, properties: Record<string, unknown>): QueuedEvent {
  const now = new Date().toISOString();
  return {
    siteId,
    messageId: `poison-test-${randomUUID()}`,
    name: 'page_view',
    timestamp: now,
    receivedAt: now,
    anonymousId: `anon-${randomUUID()}`,
    sessionId: null,
    profileId: null,
    properties,
    source: 'client',
    userAgent: null,
    ip: null,
  };
}

describe('one bad event never sinks a job', () => {
  let t: TestApp;
  beforeAll(async () => {
    // the profile-caps case identifies one e-mail from 250 visitor ids in a day: above the daily link cap
    t = await startTestApp({ env: { TRACKMATE_JOB_BACKOFF_MS: '50', TRACKMATE_LINKS_PER_PROFILE_DAY: '1000' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a job with one poison event stores all the others and dead-letters only the poison one, readable as JSON', async () => {
    const good = Array.from({ length: 9 }, (_, i) =>
      queued(t.site.siteId, { url: `https://shop.test/${i}`, referrer: '', title: 'Ok' }),
    );
    // BSON cannot encode a key holding NUL: the driver refuses the whole insertMany before it is sent
    const poison = queued(t.site.siteId, { url: 'https://shop.test/x', referrer: '', title: 'x', 'bad\u0000key': 1 });
    const events = [...good.slice(0, 4), poison, ...good.slice(4)];
    await t.app.queues.ingest.add('events', { events } satisfies IngestJob);

    const stored = await waitFor(
      async () => {
        const docs = await t.db
          .collection('events')
          .find({ messageId: { $regex: '^poison-test-' } })
          .toArray();
        return docs.length === good.length ? docs : null;
      },
      15_000,
      'the nine good events',
    );
    expect(stored.map((d) => d.messageId).sort()).toEqual(good.map((e) => e.messageId).sort());

    const letters = await waitFor(
      async () => {
        const docs = await t.db.collection('dead_letters').find({ queue: 'ingest' }).toArray();
        return docs.length ? docs : null;
      },
      10_000,
      'the dead letter',
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toMatch(/MongoDB refused the event/);
    expect(letters[0]!.siteId.toString()).toBe(t.site.siteId);
    // the payload cannot be stored as it is, so it is kept as JSON text, which names the bad key
    expect(letters[0]!.payload.unstorable).toBe(true);
    expect(JSON.parse(letters[0]!.payload.json)).toMatchObject({ messageId: poison.messageId });
    // nothing was retried: the job completed (it may still be finishing its hooks when the dead letter shows)
    await waitFor(
      async () => (await t.app.queues.ingest.getJobCounts('active', 'waiting')).active === 0,
      15_000,
      'the job to finish',
    );
    expect(await t.app.queues.ingest.getJobCounts('failed', 'waiting', 'active', 'delayed')).toEqual({
      failed: 0,
      waiting: 0,
      active: 0,
      delayed: 0,
    });
  });

  it('answers a key holding NUL with a per-event 400 reason at ingest, storing the neighbours', async () => {
    const bad = clientEvent({ properties: { url: 'https://shop.test/', referrer: '', title: 'x', 'a\u0000b': 1 } });
    const ok = clientEvent();
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [bad, ok] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      accepted: 1,
      rejected: [{ index: 0, errors: ['/properties/a\\u0000b: keys may not contain NUL characters'] }],
    });
    await waitFor(() => t.db.collection('events').findOne({ messageId: ok.messageId }), 10_000, 'the good event');
    expect(await t.db.collection('events').findOne({ messageId: bad.messageId })).toBeNull();
  });

  it('a profile never grows past its caps: 200 visitor ids kept on it, every one still linked', async () => {
    const email = `many-devices-${randomUUID().slice(0, 8)}@example.com`;
    const visits = Array.from({ length: 250 }, (_, i) =>
      clientEvent({ name: 'identify', anonymousId: `device-${i}`, properties: { email } }),
    );
    // one request, so one job: FerretDB 1.x can lose concurrent updates of one document, which would make the
    // count below depend on how jobs interleave (the identities collection keeps every link either way)
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: visits });
    expect(res.status).toBe(202);
    const profile = await waitFor(
      async () => {
        const n = await t.db.collection('events').countDocuments({ name: 'identify', 'properties.email': email });
        return n === 250 ? t.db.collection('profiles').findOne({ email }) : null;
      },
      45_000,
      'every identify stored',
    );
    expect(profile!.anonymousIds).toHaveLength(200);
    expect(new Set(profile!.anonymousIds).size).toBe(200);
    // every visitor id stays linked to the person through the identities collection
    expect(await t.db.collection('identities').countDocuments({ profileId: profile!._id })).toBe(250);
  });
});
