import type { Job, Queue } from 'bullmq';

/** Job states that hold data at rest (an active job is being processed right now). */
const AT_REST = ['waiting', 'delayed', 'prioritized', 'failed'] as const;
const PAGE = 200;

/**
 * Every job of a queue at rest (waiting, delayed, prioritized, failed), for erasure and site deletion. A
 * state's jobs are collected before any is yielded, since removing jobs shifts later pages.
 */
export async function* jobsAtRest<T>(queue: Pick<Queue<T>, 'getJobs'>): AsyncGenerator<Job<T>> {
  for (const state of AT_REST) {
    const jobs: Job<T>[] = [];
    for (let start = 0; ; start += PAGE) {
      const page = await queue.getJobs([state], start, start + PAGE - 1, true);
      for (const j of page) if (j) jobs.push(j as Job<T>);
      if (page.length < PAGE) break;
    }
    yield* jobs;
  }
}
