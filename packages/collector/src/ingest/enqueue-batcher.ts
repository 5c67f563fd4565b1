import type { Queue } from 'bullmq';
import { TrackMateError } from '../errors.js';
import { type IngestJob, type QueuedEvent, type QueuedRequest, requestEvent, sameRequest } from '../pipeline/index.js';
import { SerializedData } from '../plugins/queues.js';

interface Waiter {
  /** The request's events as JSON array items of `requests` (`{…},{…}`, no brackets), serialized once when enqueued. */
  items: string;
  /** UTF-8 bytes of `items`. */
  bytes: number;
  count: number;
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
  /**
   * How long the first request of a job waits for others to join it (0: until the next turn of the event loop).
   * The worker's cost is mostly per job, so a few milliseconds here turn many small requests into one job.
   * A function is asked at the start of each group (the collector lingers only while the workers are behind).
   */
  lingerMs?: number | (() => number);
  /**
   * Open client connections of this process. A job is written at once when every one of them has its request
   * in it or in a write (nobody else can join soon: a client that sends one request at a time, such as a
   * load-test tool); absent, only the linger and `maxEvents` decide.
   */
  connections?: () => number;
  /**
   * Bytes of each reusable job buffer (absent: every job gets a buffer of its own). A job whose JSON fits is
   * written into one of `maxInFlight` buffers kept by the batcher, taken back once Redis has acknowledged the
   * job, so the queue given to the batcher must not read a job's data once its `add` has resolved (BullMQ's
   * queue does not). Larger jobs, and a job whose write failed or timed out (the command may still be sent
   * later), keep a buffer of their own.
   */
  jobBufferBytes?: number;
}

export const DEFAULT_BATCHER: BatcherOptions = {
  maxEvents: 2_000,
  // 2 in flight, not 4: fewer, larger jobs — 20-25 % less API CPU per request and lower p99 in bench/ A/B runs
  maxInFlight: 2,
  timeoutMs: 3_000,
  maxWaitingEvents: 50_000,
  // 1 MiB a buffer: a job of 2,000 browser events. A fresh buffer per job was freed only by a full collection
  // once it had outlived a young one (its Redis round trip): 60 MB of them under 100-event batches (bench/)
  jobBufferBytes: 1 << 20,
};

/**
 * Group commit into Redis. Requests that arrive within `lingerMs` of each other, or while earlier writes are in
 * flight, share one job, so a busy collector makes one Redis round trip per many requests and the worker pays
 * its per-job cost (lookups, writes, roll-up contributions) once for all of them. Each request's promise
 * settles only once its events are durably in Redis (then 202) or the write failed (then 503, for every
 * request of the job). Nothing is acknowledged before that. A request's events are serialized when it is
 * enqueued, and a job's JSON is joined from its requests' (GroupedEvents below): each event is serialized once,
 * and what waits for a write slot is bytes, not the request's objects.
 */
export class EnqueueBatcher {
  private jobs = 0;
  private events = 0;
  private waiting: Waiter[] = [];
  private waitingEvents = 0;
  private inFlight = 0;
  /** Requests in writes in flight (their connections cannot send another request yet). */
  private writing = 0;
  /** Cancels the linger running for the waiting requests. */
  private cancelLinger?: () => void;
  /** The waiting requests are to be written as soon as a write slot is free. */
  private due = false;
  private readonly settled = new Set<Promise<void>>();
  /** Job buffers free for the next write (jobBufferBytes each). */
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly queue: Pick<Queue<IngestJob>, 'add'>,
    private readonly options: BatcherOptions = DEFAULT_BATCHER,
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
    const items = requestsJson(events);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ items, bytes: Buffer.byteLength(items, 'utf8'), count: events.length, resolve, reject });
      this.waitingEvents += events.length;
      const { connections } = this.options;
      if (
        this.waitingEvents >= this.options.maxEvents ||
        (connections && this.waiting.length + this.writing >= connections())
      ) {
        this.writeNow();
      } else if (!this.cancelLinger && !this.due) {
        const fire = () => {
          this.cancelLinger = undefined;
          this.writeNow();
        };
        const { lingerMs = 0 } = this.options;
        const linger = typeof lingerMs === 'function' ? lingerMs() : lingerMs;
        if (linger > 0) {
          const timer = setTimeout(fire, linger);
          this.cancelLinger = () => clearTimeout(timer);
        } else {
          const immediate = setImmediate(fire);
          this.cancelLinger = () => clearImmediate(immediate);
        }
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
      if (this.waiting.length) this.writeNow();
      await Promise.allSettled([...this.settled]);
      if (this.waiting.length && this.inFlight >= this.options.maxInFlight) await new Promise((r) => setImmediate(r));
    }
  }

  /** The waiting requests are due: no more lingering, written as write slots free up. */
  private writeNow(): void {
    this.due = true;
    this.cancelLinger?.();
    this.cancelLinger = undefined;
    this.flush();
  }

  private flush(): void {
    while (this.due && this.waiting.length && this.inFlight < this.options.maxInFlight) {
      const group = this.take();
      this.inFlight++;
      this.writing += group.length;
      const write = this.write(group).finally(() => {
        this.inFlight--;
        this.writing -= group.length;
        this.settled.delete(write);
        this.flush();
      });
      this.settled.add(write);
    }
    // requests that come after are a new group, with a linger of their own
    if (!this.waiting.length) this.due = false;
  }

  private take(): Waiter[] {
    const group: Waiter[] = [];
    let count = 0;
    while (this.waiting.length && (count === 0 || count + this.waiting[0]!.count <= this.options.maxEvents)) {
      const w = this.waiting.shift()!;
      count += w.count;
      group.push(w);
    }
    this.waitingEvents -= count;
    return group;
  }

  private async write(group: Waiter[]): Promise<void> {
    const size = GroupedEvents.size(group);
    const { jobBufferBytes = 0 } = this.options;
    const reused = size <= jobBufferBytes ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(jobBufferBytes)) : undefined;
    const job = new GroupedEvents(group, reused ?? Buffer.allocUnsafeSlow(size));
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
      this.events += job.count;
      // acknowledged, so written: the buffer may take the next job
      if (reused) {
        job.release();
        this.spare.push(reused);
      }
      for (const w of group) w.resolve();
    } catch (err) {
      const error = new TrackMateError('TM_ERR_QUEUE_UNAVAILABLE', { retryAfter: 5, cause: err });
      for (const w of group) w.reject(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A request's events as the JSON items of a job's `requests` (pipeline/queued-event.ts): the fields its events
 * share once, then each event's own. Events of one request normally share them all; a run of events that does
 * not is a request item of its own.
 */
function requestsJson(events: readonly QueuedEvent[]): string {
  let json = '';
  let start = 0;
  for (let end = 1; end <= events.length; end++) {
    if (end < events.length && sameRequest(events[start]!, events[end]!)) continue;
    const first = events[start]!;
    const own = new Array(end - start);
    for (let i = start; i < end; i++) own[i - start] = requestEvent(events[i]!);
    const request: QueuedRequest = {
      siteId: first.siteId,
      receivedAt: first.receivedAt,
      source: first.source,
      userAgent: first.userAgent,
      ip: first.ip,
      geo: first.geo,
      events: own,
    };
    json += json ? `,${JSON.stringify(request)}` : JSON.stringify(request);
    start = end;
  }
  return json;
}

const OPEN = '{"requests":[';
const CLOSE = ']}';
const EMPTY = Buffer.alloc(0);

/**
 * The ingest job of a group of requests, as the bytes of `JSON.stringify({ requests })` of all their requests
 * in order, joined from each request's serialized items (plugins/queues.ts writes them as they are). Written
 * straight into one buffer (one of the batcher's reused ones, else one of exactly the job's size), with no
 * joined string in between. (A fresh buffer per job sized for the worst case, 3 bytes a UTF-16 unit, cost 20-25 %
 * more CPU a request under 100-event batches in bench/ A/B runs: most likely a fresh mapping of 3 times the
 * job's size for every job, each written page faulted in; a reused buffer is faulted in once.)
 */
class GroupedEvents extends SerializedData implements Extract<IngestJob, { requests: unknown }> {
  json: Buffer;
  readonly count: number;

  /** Bytes of the JSON of a group's job. */
  static size(group: readonly Waiter[]): number {
    // the commas between requests' items: group.length - 1
    let size = OPEN.length + CLOSE.length + group.length - 1;
    for (const w of group) size += w.bytes;
    return size;
  }

  /** `bytes`: at least `GroupedEvents.size(group)` bytes, written from its start. */
  constructor(group: readonly Waiter[], bytes: Buffer) {
    super();
    let at = bytes.write(OPEN, 0, 'latin1');
    let count = 0;
    for (const w of group) {
      if (count) bytes[at++] = 0x2c; // ,
      at += bytes.write(w.items, at, 'utf8');
      count += w.count;
    }
    at += bytes.write(CLOSE, at, 'latin1');
    this.json = bytes.subarray(0, at);
    this.count = count;
  }

  /** The buffer goes back to the batcher: the job has no bytes any more (reading them throws). */
  release(): void {
    this.json = EMPTY;
  }

  /** The requests, read back from the JSON (what a worker gets). */
  get requests(): QueuedRequest[] {
    return (JSON.parse(this.json.toString('utf8')) as { requests: QueuedRequest[] }).requests;
  }
}
