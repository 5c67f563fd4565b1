import { describe, expect, it } from 'vitest';
import { type BatchOutcome, JobBatches } from '../job-batches.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A batch runner that records its batches and takes `ms` for each, like a round trip to the database. */
function recorder(ms = 10, outcome: (job: number) => BatchOutcome<string> = (j) => ({ ok: true, value: `#${j}` })) {
  const batches: number[][] = [];
  const run = async (jobs: number[]) => {
    batches.push(jobs);
    await tick(ms);
    return jobs.map(outcome);
  };
  return { batches, run };
}

describe('JobBatches', () => {
  it('stores a job that comes alone at once, and jobs of the same turn together', async () => {
    const { batches, run } = recorder();
    const b = new JobBatches(run, () => 1, { running: 2, maxJobs: 10, maxItems: 100 });
    expect(await b.add(1)).toBe('#1');
    expect(await Promise.all([b.add(2), b.add(3), b.add(4)])).toEqual(['#2', '#3', '#4']);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('while every slot is busy, gathers the jobs that come and stores them together when one frees up', async () => {
    const { batches, run } = recorder(20);
    const b = new JobBatches(run, () => 1, { running: 1, maxJobs: 10, maxItems: 100 });
    const first = b.add(1);
    await tick(2); // the first batch is running
    const later = [2, 3, 4, 5].map((j) => b.add(j));
    expect(b.pending).toBe(4);
    await Promise.all([first, ...later]);
    expect(batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('keeps each batch within maxJobs and maxItems, a larger job alone', async () => {
    const { batches, run } = recorder(5);
    const sizes: Record<number, number> = { 1: 40, 2: 40, 3: 40, 4: 500, 5: 1, 6: 1, 7: 1, 8: 1 };
    const b = new JobBatches(run, (j: number) => sizes[j]!, { running: 1, maxJobs: 3, maxItems: 100 });
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((j) => b.add(j)));
    expect(batches).toEqual([[1, 2], [3], [4], [5, 6, 7], [8]]);
  });

  it("gives each job its own outcome, and every job of a batch that threw the batch's error", async () => {
    const { run } = recorder(1, (j) =>
      j % 2 ? { ok: true, value: `#${j}` } : { ok: false, error: new Error(`bad ${j}`) },
    );
    const b = new JobBatches(run, () => 1, { running: 1, maxJobs: 10, maxItems: 100 });
    const results = await Promise.allSettled([1, 2, 3].map((j) => b.add(j)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      '#1',
      'bad 2',
      '#3',
    ]);
    const broken = new JobBatches(
      async () => {
        throw new Error('database away');
      },
      () => 1,
      { running: 1, maxJobs: 10, maxItems: 100 },
    );
    const failed = await Promise.allSettled([broken.add(1), broken.add(2)]);
    expect(failed.map((r) => r.status === 'rejected' && (r.reason as Error).message)).toEqual([
      'database away',
      'database away',
    ]);
  });
});
