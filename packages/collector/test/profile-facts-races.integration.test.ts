import { randomUUID } from 'node:crypto';
import type { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuedEvent } from '../src/ingest/index.js';
import {
  type ProcessResult,
  prepareUnlinkedRecords,
  processEvents,
  type UnlinkedEvents,
  unlinkedEvents,
} from '../src/pipeline/index.js';
import { type FactsDeps, recordProfileFacts } from '../src/segments/index.js';
import { queuedEvent, startTestApp, type TestApp } from './helpers/harness.js';

/**
 * Profile facts count each of a person's events once, whichever job stored it and whichever job linked its visitor,
 * when jobs run at the same time. The interleavings are forced here by holding one job's step (a records object that
 * waits) while another job runs, so each case happens on every run rather than now and then.
 */
describe('profile facts of jobs that link a visitor while others store its events', () => {
  let t: TestApp;
  let records: UnlinkedEvents;
  let facts: FactsDeps;

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    records = unlinkedEvents(t.app.models, t.app.redis, t.config.queuePrefix);
    facts = { models: t.app.models, redis: t.app.redis, prefix: t.config.queuePrefix };
    // the site's records are complete: linking reads them rather than `events`
    await prepareUnlinkedRecords(t.app.models, t.app.redis, t.config.queuePrefix);
  });
  afterAll(async () => {
    await t?.close();
  }, 120_000);

  const views = (visitor: string, n: number) =>
    Array.from({ length: n }, () => queuedEvent(t.site.siteId, { anonymousId: visitor }));
  const identify = (visitor: string) => {
    const email = `${visitor}@example.com`;
    return queuedEvent(t.site.siteId, {
      anonymousId: visitor,
      name: 'identify',
      properties: { email },
      profile: { email, consentSource: 'identify' },
    });
  };
  const run = (events: QueuedEvent[], key: string, unlinked: UnlinkedEvents = records) =>
    processEvents(t.app.models, structuredClone(events), { jobKey: key, unlinked });
  /** What the after-insert hook does with a fresh job's result. */
  const count = (result: ProcessResult, key: string) =>
    recordProfileFacts(facts, result.inserted, key, result.backfilled);
  const countsOf = async (visitor: string) => {
    const link = await t.db.collection<{ profileId: Types.ObjectId }>('identities').findOne({ anonymousId: visitor });
    expect(link).not.toBeNull();
    const doc = await t.db
      .collection<{ counts: Record<string, number>; visitors: string[] }>('profile_facts')
      .findOne({ _id: link!.profileId } as never);
    return doc?.counts;
  };
  /** A gate: `wait()` resolves once `open()` is called. */
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { open, wait: () => opened };
  };

  for (const order of ['page views counted first', 'identify counted first'] as const) {
    it(`page views stored unlinked while another job links their visitor count once (${order})`, async () => {
      const visitor = `race-${randomUUID()}`;
      // the page-view job reads the visitor's link (none yet) and inserts, then waits before recording its events
      const noted = gate();
      const held: UnlinkedEvents = {
        ...records,
        note: async (docs) => {
          await noted.wait();
          return records.note(docs);
        },
      };
      const viewing = run(views(visitor, 3), 'views', held);
      // meanwhile the identify job links the visitor and back-fills what is recorded of it (nothing of those yet)
      const identified = await run([identify(visitor)], 'identify');
      noted.open();
      // the page-view job finds the link when it reads it again, and back-fills its own events
      const viewed = await viewing;
      expect(viewed.inserted.every((e) => e.profileId === null)).toBe(true);

      if (order === 'page views counted first') {
        await count(viewed, 'views');
        await count(identified, 'identify');
      } else {
        await count(identified, 'identify');
        await count(viewed, 'views');
      }
      expect(await countsOf(visitor)).toEqual({ page_view: 3, identify: 1 });
    });
  }

  it("an alias brings the earlier visitor id's page views to the person's facts", async () => {
    const visitor = `alias-${randomUUID()}`;
    const before = `before-${randomUUID()}`; // the person's visitor id on another device
    const browsed = await run(views(before, 3), 'browsed');
    await count(browsed, 'browsed');
    const identified = await run([identify(visitor)], 'identified');
    await count(identified, 'identified');
    const alias = queuedEvent(t.site.siteId, {
      anonymousId: visitor,
      name: 'alias',
      properties: { previousId: before },
    });
    const aliased = await run([alias], 'aliased');
    await count(aliased, 'aliased');
    expect(await countsOf(before)).toEqual({ page_view: 3, identify: 1, alias: 1 });
  });

  it('two jobs back-filling one visitor at once count its earlier events once between them', async () => {
    const visitor = `race-${randomUUID()}`;
    // earlier page views, stored and recorded without a profile
    const earlier = await run(views(visitor, 4), 'earlier');
    await count(earlier, 'earlier');
    // both jobs read the visitor's records before either takes them
    let reads = 0;
    const bothRead = gate();
    const together: UnlinkedEvents = {
      ...records,
      read: async (keys) => {
        const out = await records.read(keys);
        if (++reads === 2) bothRead.open();
        await bothRead.wait();
        return out;
      },
    };
    const viewInserted = gate();
    const viewHeld = gate();
    const heldNote: UnlinkedEvents = {
      ...together,
      note: async (docs) => {
        viewInserted.open();
        await viewHeld.wait();
        return records.note(docs);
      },
    };
    // a page-view job that read no link and inserted its events, then an identify linking the visitor: the
    // identify's back-fill reads the records, and the page-view job's after it finds the link
    const viewing = run(views(visitor, 2), 'more-views', heldNote);
    await viewInserted.wait();
    const identifying = run([identify(visitor)], 'identify-2', together);
    while (reads < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    viewHeld.open();
    const [viewed, identified] = await Promise.all([viewing, identifying]);
    await Promise.all([count(viewed, 'more-views'), count(identified, 'identify-2')]);
    expect(await countsOf(visitor)).toEqual({ page_view: 6, identify: 1 });
  });
});
