import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { type IngestJob, jobEvents, type QueuedEvent } from '../../pipeline/index.js';
import { EnqueueBatcher } from '../enqueue-batcher.js';

// A stand-in queue that records jobs and acknowledges after a delay, like a Redis round trip.
function recordingQueue(delayMs = 5, fail = false) {
  const jobs: IngestJob[] = [];
  const queue = {
    add: async (_name: string, data: IngestJob) => {
      await new Promise((r) => setTimeout(r, delayMs));
      if (fail) throw new Error('connection is closed');
      jobs.push(data);
      return {};
    },
  } as unknown as Queue;
  return { queue, jobs };
}

const ev = (id: string) => ({ messageId: id }) as QueuedEvent;

describe('EnqueueBatcher (group commit)', () => {
  it('puts concurrent requests into shared jobs and settles each only after its job is written', async () => {
    const { queue, jobs } = recordingQueue();
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 1_000,
      maxInFlight: 1,
      timeoutMs: 1_000,
      maxWaitingEvents: 50_000,
    });
    const settled: string[] = [];
    const requests = Array.from({ length: 50 }, (_, i) =>
      batcher.enqueue([ev(`r${i}-a`), ev(`r${i}-b`)]).then(() => settled.push(`r${i}`)),
    );
    await Promise.all(requests);
    expect(settled).toHaveLength(50);
    expect(jobs.length).toBeLessThan(50);
    expect(jobs.flatMap((j) => jobEvents(j).map((e) => e.messageId)).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => [`r${i}-a`, `r${i}-b`])
        .flat()
        .sort(),
    );
  });

  it('holds a request up to lingerMs so that requests arriving meanwhile share its job', async () => {
    const { queue, jobs } = recordingQueue(1);
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 1_000,
      maxInFlight: 2,
      timeoutMs: 1_000,
      maxWaitingEvents: 50_000,
      lingerMs: 2_000,
    });
    let firstSettled = false;
    const first = batcher.enqueue([ev('early')]).then(() => {
      firstSettled = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(firstSettled).toBe(false); // nothing acknowledged before its job is written
    expect(jobs).toHaveLength(0);
    await Promise.all([first, batcher.enqueue([ev('late-a'), ev('late-b')])]);
    expect(jobs.map((j) => jobEvents(j).map((e) => e.messageId))).toEqual([['early', 'late-a', 'late-b']]);
    // the next request starts a group of its own
    const next = batcher.enqueue([ev('next')]);
    await batcher.drain();
    await next;
    expect(jobs.map((j) => jobEvents(j).map((e) => e.messageId))).toEqual([['early', 'late-a', 'late-b'], ['next']]);
  });

  it('writes at once, without lingering, when every open connection has its request waiting', async () => {
    const { queue, jobs } = recordingQueue(1);
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 1_000,
      maxInFlight: 2,
      timeoutMs: 1_000,
      maxWaitingEvents: 50_000,
      lingerMs: 600_000,
      connections: () => 3,
    });
    await Promise.all([batcher.enqueue([ev('a')]), batcher.enqueue([ev('b')]), batcher.enqueue([ev('c')])]);
    expect(jobs.map((j) => jobEvents(j).length)).toEqual([3]);
  });

  it('writes a lingering group at once on drain (graceful shutdown)', async () => {
    const { queue, jobs } = recordingQueue(1);
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 1_000,
      maxInFlight: 2,
      timeoutMs: 1_000,
      maxWaitingEvents: 50_000,
      lingerMs: 600_000,
    });
    const pending = batcher.enqueue([ev('last')]);
    await batcher.drain();
    await pending;
    expect(jobs).toHaveLength(1);
  });

  it('never puts more than maxEvents events in one job', async () => {
    const { queue, jobs } = recordingQueue(1);
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 10,
      maxInFlight: 2,
      timeoutMs: 1_000,
      maxWaitingEvents: 50_000,
    });
    await Promise.all(Array.from({ length: 30 }, (_, i) => batcher.enqueue([ev(`${i}a`), ev(`${i}b`), ev(`${i}c`)])));
    expect(Math.max(...jobs.map((j) => jobEvents(j).length))).toBeLessThanOrEqual(10);
    expect(jobs.reduce((n, j) => n + jobEvents(j).length, 0)).toBe(90);
  });

  it('rejects every waiting request with a 503 error when the write fails', async () => {
    const { queue } = recordingQueue(1, true);
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 100,
      maxInFlight: 1,
      timeoutMs: 1_000,
      maxWaitingEvents: 50_000,
    });
    const results = await Promise.allSettled([batcher.enqueue([ev('a')]), batcher.enqueue([ev('b')])]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ statusCode: 503, code: 'TM_ERR_QUEUE_UNAVAILABLE' });
    }
  });

  it('answers 503 when Redis does not acknowledge in time', async () => {
    const { queue } = recordingQueue(200);
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 100,
      maxInFlight: 1,
      timeoutMs: 20,
      maxWaitingEvents: 50_000,
    });
    await expect(batcher.enqueue([ev('slow')])).rejects.toMatchObject({ statusCode: 503 });
  });

  it('refuses at once, with a 503 error, what would grow its waiting list past maxWaitingEvents', async () => {
    const { queue, jobs } = recordingQueue(50); // a slow Redis
    const batcher = new EnqueueBatcher(queue, {
      maxEvents: 10,
      maxInFlight: 1,
      timeoutMs: 1_000,
      maxWaitingEvents: 12,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        batcher.enqueue([ev(`a${i}`), ev(`b${i}`), ev(`c${i}`), ev(`d${i}`), ev(`e${i}`)]),
      ),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    // 2 requests (10 events) are being written, 2 more wait (10 events); the last 2 would make 15 and 20
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'TM_ERR_QUEUE_UNAVAILABLE',
      statusCode: 503,
    });
    expect(jobs.flatMap((j) => jobEvents(j))).toHaveLength(20); // the four accepted requests, all written
  });
});
