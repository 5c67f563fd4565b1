import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsDailyDoc, NewEventDoc } from '../src/models/index.js';
import { type RollupFolder, recordRollups, startRollupFolder } from '../src/rollups/index.js';
import type { PendingContributions } from '../src/rollups/pending-contributions.js';
import { foldPending, takeOverMongoPending } from '../src/rollups/rollup-folder.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

const today = new Date().toISOString().slice(0, 10);

// The roll-ups' pending contributions and folded markers live in Redis: each contribution is counted once
// whatever step of the folder a crash interrupts, and however late its ingest job is retried.
describe('roll-up contributions in Redis', () => {
  let t: TestApp;
  let folder: RollupFolder;
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    // the real folder, idle (no timer, no kicks): each test folds when it means to
    folder = startRollupFolder(t.config, t.app.models, t.app.log, 3_600_000);
  });
  afterAll(async () => {
    await folder?.stop();
    await t?.close();
  });

  /** One ingest job's `n` events named `name`, each of its own visitor; `fresh`: inserted by this attempt. */
  const part = (key: string, name: string, n: number, fresh: boolean) => ({
    key,
    fresh,
    events: Array.from(
      { length: n },
      () =>
        ({
          siteId: new Types.ObjectId(t.site.siteId),
          messageId: randomUUID(),
          name,
          timestamp: new Date(),
          receivedAt: new Date(),
          anonymousId: `v-${randomUUID()}`,
          properties: {},
          sentBy: 'client',
        }) as unknown as NewEventDoc,
    ),
  });
  const record = (key: string, name: string, n: number, fresh: boolean) =>
    recordRollups(folder.contributions, folder.sketches, [part(key, name, n, fresh)]);
  const fold = (contributions: PendingContributions = folder.contributions) =>
    foldPending(t.app.models, contributions, folder.sketches);
  const bucketOf = (name: string) => `${t.site.siteId}:${today}:${name}`;
  const daily = (name: string) => t.app.models.MetricsDaily.findById(bucketOf(name)).lean<MetricsDailyDoc>();
  const pendingBuckets = () => t.app.redis.smembers(`${t.config.queuePrefix}:rollup-buckets`);
  const crash = (): never => {
    throw new Error('crashed');
  };

  it('counts a contribution once when the folder crashed after marking it folded, or before', async () => {
    for (const [name, crashed] of [
      ['crash_before_markers', { markFolded: crash }],
      ['crash_before_removal', { remove: crash }],
    ] as const) {
      expect(await record(`job-${name}`, name, 3, true)).toBe(1);
      await expect(fold({ ...folder.contributions, ...crashed })).rejects.toThrow('crashed');
      // the increment is applied, its id in `jobs`; the contribution still pending
      expect(await daily(name)).toMatchObject({ count: 3, jobs: [`${bucketOf(name)}|job-${name}`] });
      expect(await pendingBuckets()).toContain(bucketOf(name));
      // the ingest job is retried too: its events are duplicates now
      await record(`job-${name}`, name, 3, false);
      await fold();
      expect(await daily(name)).toMatchObject({ count: 3, visitors: 3, jobs: [] });
      expect(await pendingBuckets()).not.toContain(bucketOf(name));
      // a retry after the fold finds its marker and records nothing
      expect(await record(`job-${name}`, name, 3, false)).toBe(0);
    }
  });

  it('clears ids a crash left in `jobs` after the contributions were removed, with the next fold of the bucket', async () => {
    await record('job-a', 'crash_before_pull', 2, true);
    await fold();
    // as if the folder had crashed before its last step: the folded contribution's id is still in `jobs`
    await t.app.models.MetricsDaily.updateOne(
      { _id: bucketOf('crash_before_pull') },
      { $push: { jobs: `${bucketOf('crash_before_pull')}|job-a` } },
    );
    expect(await record('job-a', 'crash_before_pull', 2, false)).toBe(0);
    await record('job-b', 'crash_before_pull', 5, true);
    await fold();
    expect(await daily('crash_before_pull')).toMatchObject({ count: 7, jobs: [] });
  });

  it('drops a retried contribution recorded after the fold of the first attempt’s', async () => {
    await record('job-late', 'late_retry', 4, true);
    await fold();
    // the retry looked for its marker before the fold wrote it, and recorded its contribution after the fold
    await folder.contributions.add([
      {
        bucket: bucketOf('late_retry'),
        jobKey: 'job-late',
        contribution: { count: 4, orders: 0, revenue: 0, revenueByCurrency: {}, retry: true },
      },
    ]);
    expect(await pendingBuckets()).toContain(bucketOf('late_retry'));
    await fold();
    expect(await daily('late_retry')).toMatchObject({ count: 4, jobs: [] });
    expect(await pendingBuckets()).not.toContain(bucketOf('late_retry'));
    expect(await t.app.redis.exists(`${t.config.queuePrefix}:rollup-pending:${bucketOf('late_retry')}`)).toBe(0);
  });

  it('records a job’s contribution once however often the job runs before the fold', async () => {
    await record('job-twice', 'recorded_twice', 6, true);
    await record('job-twice', 'recorded_twice', 6, false);
    await record('job-twice', 'recorded_twice', 6, false);
    await fold();
    expect(await daily('recorded_twice')).toMatchObject({ count: 6, jobs: [] });
  });

  it('folds a bucket with more contributions than a round takes over several rounds, each once', async () => {
    for (const key of ['job-1', 'job-2', 'job-3', 'job-4', 'job-5']) await record(key, 'many_jobs', 1, true);
    const round = () => foldPending(t.app.models, folder.contributions, folder.sketches, 500, 2);
    expect(await round()).toBe(true);
    expect(await daily('many_jobs')).toMatchObject({ count: 2, jobs: [] });
    expect(await round()).toBe(true);
    expect(await round()).toBe(false);
    expect(await daily('many_jobs')).toMatchObject({ count: 5, jobs: [] });
    expect(await pendingBuckets()).not.toContain(bucketOf('many_jobs'));
  });

  it('moves what metrics_pending and metrics_folded held to Redis and counts each contribution once', async () => {
    const bucket = bucketOf('from_mongodb');
    const at = new Date();
    const doc = (jobKey: string, count: number) => ({
      _id: `${bucket}|${jobKey}`,
      bucket,
      siteId: t.site.siteId,
      day: today,
      name: 'from_mongodb',
      count,
      orders: 1,
      revenue: 2.5,
      revenueByCurrency: { EUR: 10 },
      retry: false,
      at,
    });
    // job-old was folded by the earlier version, which crashed before deleting its pending document;
    // job-new was waiting to be folded
    await t.app.models.MetricsDaily.create({ _id: bucket, siteId: t.site.siteId, day: today, name: 'from_mongodb' });
    await t.app.models.MetricsDaily.updateOne(
      { _id: bucket },
      { $inc: { count: 5, orders: 1, revenue: 2.5, 'revenueByCurrency.EUR': 10 } },
    );
    await t.app.models.MetricsFolded.insertMany([{ _id: `${bucket}|job-old`, at }]);
    await t.app.models.MetricsPending.insertMany([doc('job-old', 5), doc('job-new', 2)]);

    expect(await takeOverMongoPending(t.app.models, folder.contributions)).toBe(3);
    const collections = (await t.db.listCollections().toArray()).map((c) => c.name);
    expect(collections).not.toContain('metrics_pending');
    expect(collections).not.toContain('metrics_folded');
    expect(await takeOverMongoPending(t.app.models, folder.contributions)).toBe(0);
    // a late retry of the job folded before the upgrade finds its marker
    expect(await record('job-old', 'from_mongodb', 5, false)).toBe(0);
    await fold();
    expect(await daily('from_mongodb')).toMatchObject({
      count: 7,
      orders: 2,
      revenue: 5,
      revenueByCurrency: { EUR: 20 },
      jobs: [],
    });
  });
});
