import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { EnqueueBatcher } from '../src/ingest/enqueue-batcher.js';
import { type IngestJob, jobEvents, type QueuedEvent } from '../src/pipeline/index.js';
import { closeQueue, createQueue, QUEUE_NAMES } from '../src/plugins/queues.js';
import { isolatedEnv, queuedEvent, removeTestData } from './helpers/harness.js';

// The group commit hands BullMQ each job's JSON already built from its requests' serialized events
// (plugins/queues.ts, SerializedData), each request's shared fields once (pipeline/queued-event.ts): what a
// worker reads back from Redis must be the events as they were enqueued, whole.
describe('ingest jobs written from their requests serialized events', () => {
  const env = isolatedEnv();
  const config = loadConfig(env, { port: 0 });
  let queue: Queue<IngestJob>;
  let redis: Redis;
  beforeAll(() => {
    queue = createQueue<IngestJob>(config, QUEUE_NAMES.ingest);
    redis = new Redis(env.REDIS_URL!);
  });
  afterAll(async () => {
    await closeQueue(queue);
    redis.disconnect();
    await removeTestData(env);
  });

  /** Requests of 1-5 events with the shapes that matter for JSON: nulls, absent fields, non-ASCII, escapes. */
  function requests(n: number): QueuedEvent[][] {
    return Array.from({ length: n }, (_, r) =>
      Array.from({ length: 1 + (r % 5) }, (_, i) => {
        const event = queuedEvent('0123456789abcdef01234567', {
          anonymousId: `visitor-${r}`,
          userAgent: r % 2 ? 'Mozilla/5.0 (X11; Linux x86_64) "quoted" \\ täst' : null,
          properties: { url: `https://shop.test/p/${r}-${i}?q=ü€😀`, nested: { list: [1, 'two', null, true] } },
          context: i % 2 ? { page: { title: 'Line\nbreak\u2028' } } : undefined,
        });
        if (r % 3 === 0) event.geo = { country: 'DE', region: 'BE' };
        return event;
      }),
    );
  }

  /** The events as a worker reads them back: JSON-safe copies of those enqueued. */
  const asRead = (events: QueuedEvent[]) => JSON.parse(JSON.stringify(events)) as QueuedEvent[];

  /** The job's `data` field as Redis holds it. */
  const storedData = (id: string) => redis.hget(`${env.TRACKMATE_QUEUE_PREFIX}:${QUEUE_NAMES.ingest}:${id}`, 'data');

  it('stores every event of one request and of a group, the shared fields of each request once', async () => {
    const added: Array<{ id: string }> = [];
    // a queue that records what the batcher adds, then adds it to the real one
    const recording = {
      add: async (name: string, data: IngestJob) => {
        const job = await queue.add(name, data);
        added.push({ id: job.id! });
        return job;
      },
    };
    const batcher = new EnqueueBatcher(recording as Pick<Queue<IngestJob>, 'add'>, {
      maxEvents: 40,
      maxInFlight: 1,
      timeoutMs: 5_000,
      maxWaitingEvents: 50_000,
    });
    const sent = requests(30);
    await batcher.enqueue(sent[0]!); // alone: a job of one request
    await Promise.all(sent.slice(1).map((events) => batcher.enqueue(events)));
    await batcher.drain();
    expect(added.length).toBeGreaterThan(2); // one alone, the rest in groups of at most 40 events

    // every event once, in request order, whole again when read; the jobs smaller than the events' own JSON
    const all = sent.flat();
    let at = 0;
    let bytes = 0;
    for (const { id } of added) {
      const data = await storedData(id);
      const parsed = JSON.parse(data!) as IngestJob;
      expect(parsed).toHaveProperty('requests');
      const read = jobEvents(parsed);
      const expected = all.slice(at, at + read.length);
      expect(read).toEqual(asRead(expected));
      bytes += Buffer.byteLength(data!);
      at += read.length;
    }
    expect(at).toBe(all.length);
    expect(bytes).toBeLessThan(Buffer.byteLength(JSON.stringify({ events: all })));
    await queue.obliterate({ force: true });
  });

  it('writes jobs through its reused buffers, and a job too large for them through its own, with the same events', async () => {
    const added: Array<{ id: string }> = [];
    const recording = {
      add: async (name: string, data: IngestJob) => {
        const job = await queue.add(name, data);
        added.push({ id: job.id! });
        return job;
      },
    };
    // small jobs (at most 4 events, or one request) and buffers of 1.5 KB: jobs of 1-3 events fit, larger do not
    const batcher = new EnqueueBatcher(recording as Pick<Queue<IngestJob>, 'add'>, {
      maxEvents: 4,
      maxInFlight: 2,
      timeoutMs: 5_000,
      maxWaitingEvents: 50_000,
      jobBufferBytes: 1_500,
    });
    const sent = requests(60);
    // one at a time (each job reuses a buffer the previous one gave back), then all at once (two in flight)
    for (const events of sent.slice(0, 20)) await batcher.enqueue(events);
    await Promise.all(sent.slice(20).map((events) => batcher.enqueue(events)));
    await batcher.drain();

    const all = sent.flat();
    let at = 0;
    const sizes: number[] = [];
    for (const { id } of added) {
      const data = await storedData(id);
      const read = jobEvents(JSON.parse(data!) as IngestJob);
      expect(read).toEqual(asRead(all.slice(at, at + read.length)));
      sizes.push(Buffer.byteLength(data!));
      at += read.length;
    }
    expect(at).toBe(all.length);
    expect(sizes.filter((n) => n <= 1_500).length).toBeGreaterThan(20);
    expect(sizes.some((n) => n > 1_500)).toBe(true);
    await queue.obliterate({ force: true });
  });

  it('hands a worker the same events as were enqueued', async () => {
    const events = requests(4);
    const received: IngestJob[] = [];
    const worker = new Worker<IngestJob>(
      QUEUE_NAMES.ingest,
      async (job) => {
        received.push(job.data);
      },
      { connection: { url: env.REDIS_URL }, prefix: env.TRACKMATE_QUEUE_PREFIX },
    );
    try {
      const batcher = new EnqueueBatcher(queue, {
        maxEvents: 1_000,
        maxInFlight: 1,
        timeoutMs: 5_000,
        maxWaitingEvents: 50_000,
      });
      await Promise.all(events.map((e) => batcher.enqueue(e)));
      await batcher.drain();
      const deadline = Date.now() + 10_000;
      while (received.flatMap((j) => jobEvents(j)).length < events.flat().length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(received.flatMap((j) => jobEvents(j))).toEqual(asRead(events.flat()));
    } finally {
      await worker.close();
    }
  });

  it('a plain BullMQ queue given the same job writes the same JSON (SerializedData.toJSON)', async () => {
    const plain = new Queue<IngestJob>(`${QUEUE_NAMES.ingest}-plain`, {
      connection: { url: env.REDIS_URL },
      prefix: env.TRACKMATE_QUEUE_PREFIX,
    });
    try {
      const events = requests(3);
      const jobs: IngestJob[] = [];
      const batcher = new EnqueueBatcher(
        {
          add: async (name: string, data: IngestJob) => {
            jobs.push(data);
            return plain.add(name, data);
          },
        } as Pick<Queue<IngestJob>, 'add'>,
        { maxEvents: 1_000, maxInFlight: 1, timeoutMs: 5_000, maxWaitingEvents: 50_000 },
      );
      await Promise.all(events.map((e) => batcher.enqueue(e)));
      const [job] = await plain.getJobs(['waiting']);
      const data = await redis.hget(`${env.TRACKMATE_QUEUE_PREFIX}:${QUEUE_NAMES.ingest}-plain:${job!.id}`, 'data');
      expect(jobs).toHaveLength(1);
      expect(data).toBe(JSON.stringify(jobs[0]));
      expect(jobEvents(JSON.parse(data!) as IngestJob)).toEqual(asRead(events.flat()));
    } finally {
      await plain.obliterate({ force: true });
      await plain.close();
    }
  });
});
