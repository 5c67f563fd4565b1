import type { Queue } from 'bullmq';
import { TrackMateError } from '../errors.js';
import type { IngestJob, QueuedEvent } from '../pipeline/index.js';

interface Waiter {
  events: QueuedEvent[];
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface BatcherOptions {
  /** Most events in one job. */
  maxEvents: number;
  /** Most jobs being written to Redis at once; further requests wait and join the next job. */
  maxInFlight: number;
  /** How long a write to Redis may take before the waiting requests get 503. */
  timeoutMs: number;
  /** Most events waiting for a write slot in this process; past it requests get 503 at once (memory bound). */
  maxWaitingEvents: number;
}

/**
 * Group commit into Redis. Requests that arrive while earlier writes are in flight share one job, so a busy
 * collector makes one Redis round trip per many requests; each request's promise settles only once its events
 * are durably in Redis (then 202) or the write failed (then 503). Nothing is acknowledged before that.
 */
export class EnqueueBatcher {
  private jobs = 0;
  private events = 0;
  private waiting: Waiter[] = [];
  private waitingEvents = 0;
  private inFlight = 0;
  private scheduled = false;
  private readonly settled = new Set<Promise<void>>();

  constructor(
    private readonly queue: Pick<Queue<IngestJob>, 'add'>,
    // 2 in flight, not 4: fewer, larger jobs — 20-25 % less API CPU per request and lower p99 in bench/ A/B runs
    private readonly options: BatcherOptions = {
      maxEvents: 2_000,
      maxInFlight: 2,
      timeoutMs: 3_000,
      maxWaitingEvents: 50_000,
    },
  ) {}

  enqueue(events: QueuedEvent[]): Promise<void> {
    if (this.waitingEvents + events.length > this.options.maxWaitingEvents) {
      // Redis is slower than the requests coming in: refuse now rather than hold them all in memory
      return Promise.reject(
        new TrackMateError('TM_ERR_QUEUE_UNAVAILABLE', {
          retryAfter: 5,
          message: `${this.waitingEvents} events are waiting to be written to Redis; retry later`,
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      this.waitingEvents += events.length;
      if (this.waitingEvents >= this.options.maxEvents) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Average events per job written so far (100 before the first), for the backpressure estimate. */
  averageEventsPerJob(): number {
    return this.jobs ? this.events / this.jobs : 100;
  }

  /** Resolves when every job handed to Redis so far has settled (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.waiting.length || this.settled.size) {
      this.flush();
      await Promise.allSettled([...this.settled]);
      if (this.waiting.length && this.inFlight >= this.options.maxInFlight) await new Promise((r) => setImmediate(r));
    }
  }

  private flush(): void {
    while (this.waiting.length && this.inFlight < this.options.maxInFlight) {
      const group = this.take();
      this.inFlight++;
      const write = this.write(group).finally(() => {
        this.inFlight--;
        this.settled.delete(write);
        if (this.waiting.length) this.flush();
      });
      this.settled.add(write);
    }
  }

  private take(): Waiter[] {
    const group: Waiter[] = [];
    let count = 0;
    while (this.waiting.length && (count === 0 || count + this.waiting[0]!.events.length <= this.options.maxEvents)) {
      const w = this.waiting.shift()!;
      count += w.events.length;
      group.push(w);
    }
    this.waitingEvents -= count;
    return group;
  }

  private async write(group: Waiter[]): Promise<void> {
    const job: IngestJob = { events: group.length === 1 ? group[0]!.events : group.flatMap((w) => w.events) };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.add('events', job),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new TrackMateError('TM_ERR_QUEUE_UNAVAILABLE', { message: 'Redis write timed out' })),
            this.options.timeoutMs,
          );
        }),
      ]);
      this.jobs++;
      this.events += job.events.length;
      for (const w of group) w.resolve();
    } catch (err) {
      const error = new TrackMateError('TM_ERR_QUEUE_UNAVAILABLE', { retryAfter: 5, cause: err });
      for (const w of group) w.reject(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
