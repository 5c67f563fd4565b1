import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES, MAX_REQUEST_BYTES } from '@trackmate/core';
import { BatchQueue, eventsOf, type QueuedEvent, utf8Length } from './batch-queue.js';
import { BatchSender } from './batch-sender.js';
import { Emitter } from './emitter.js';
import { type DropReason, type DropReport, type ErrorCode, TrackMateError } from './errors.js';
import { fetchTransport } from './transport.js';
import type {
  CallOptions,
  GenericServerEvent,
  Identity,
  OrderInput,
  OrderPlacedEvent,
  ServerEvent,
  ServerIdentity,
} from './types.js';

/** Longest delay setTimeout takes. */
const MAX_TIMER = 2 ** 31 - 1;

export interface TrackMateOptions {
  /** The site's secret key, `sk_…` (never the public `pk_…` write key). */
  secretKey: string;
  /** Base URL of the collector, e.g. `https://track.example.com`. */
  host: string;
  /** Send as soon as this many events are queued (1–500). Default 100. */
  flushAt?: number;
  /** Send whatever is queued at most this many ms after the first of it was queued. Default 5000. */
  flushInterval?: number;
  /** Events held in memory at most; past it new events are dropped and reported. Default 10000. */
  maxQueueSize?: number;
  /** Requests sent at the same time. Default 2. */
  maxInFlight?: number;
  /** Time limit of one request in ms. Default 10000. */
  timeout?: number;
  /** Retries of one batch after its first attempt. Default 5. */
  maxRetries?: number;
  /** First retry delay in ms (doubled each retry, with jitter). Default 500. */
  minRetryDelay?: number;
  /** Largest backoff delay in ms; a longer Retry-After from the collector still wins. Default 30000. */
  maxRetryDelay?: number;
  /** Gzip request bodies of 16 KB and more. Default true. */
  gzip?: boolean;
  /** A fetch to use instead of the global one (a proxy agent, instrumentation). */
  fetch?: typeof fetch;
}

export type TrackMateEvents = {
  /** Every failure: a request given up, a rejected event, a dropped event. */
  error: TrackMateError;
  /** Events given up, with the events themselves. */
  drop: DropReport;
};

/** A batch being delivered (retries included); flush() waits for those holding events it covers. */
interface InFlight {
  firstSeq: number;
}

/**
 * The TrackMate server client. Calls queue events in memory and return at once; batches go out when
 * `flushAt` events are queued or `flushInterval` has passed, and are retried with backoff. Call `close()`
 * before the process ends (or `flush()` at the end of a serverless invocation) to deliver what is queued.
 */
export class TrackMate extends Emitter<TrackMateEvents> {
  readonly #flushAt: number;
  readonly #flushInterval: number;
  readonly #maxQueueSize: number;
  readonly #maxInFlight: number;
  readonly #sender: BatchSender;

  readonly #queue = new BatchQueue();
  readonly #inFlight = new Set<InFlight>();
  #seq = 0;
  /** Partial batches are sent while the oldest queued event is at or before this position. */
  #drainThrough = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settled: { promise: Promise<void>; resolve: () => void } = deferred();
  #closed = false;
  /** Aborted when `close()` runs out of time: stops waits and requests. */
  readonly #abort = new AbortController();

  constructor(options: TrackMateOptions) {
    super();
    const { secretKey, host } = options;
    if (typeof secretKey !== 'string' || !secretKey.startsWith('sk_')) {
      throw new TypeError(
        'TrackMate: secretKey must be the site\'s secret key ("sk_…"); the "pk_…" write key is for browsers',
      );
    }
    if (typeof host !== 'string' || !/^https?:\/\/[^/]/.test(host)) {
      throw new TypeError('TrackMate: host must be the collector\'s http(s) URL, e.g. "https://track.example.com"');
    }
    if (typeof (options.fetch ?? globalThis.fetch) !== 'function') {
      throw new TypeError('TrackMate: no global fetch here (Node.js >= 20.11 has one); pass the `fetch` option');
    }
    this.#flushAt = clampInt('flushAt', options.flushAt ?? 100, 1, MAX_BATCH_EVENTS);
    this.#flushInterval = clampInt('flushInterval', options.flushInterval ?? 5000, 0, MAX_TIMER);
    this.#maxQueueSize = clampInt('maxQueueSize', options.maxQueueSize ?? 10_000, 1, Number.MAX_SAFE_INTEGER);
    this.#maxInFlight = clampInt('maxInFlight', options.maxInFlight ?? 2, 1, 64);
    this.#sender = new BatchSender({
      url: `${host.replace(/\/+$/, '')}/api/track/server-event`,
      secretKey,
      timeout: clampInt('timeout', options.timeout ?? 10_000, 1, MAX_TIMER),
      maxRetries: clampInt('maxRetries', options.maxRetries ?? 5, 0, 100),
      backoff: {
        minDelay: clampInt('minRetryDelay', options.minRetryDelay ?? 500, 0, MAX_TIMER),
        maxDelay: clampInt('maxRetryDelay', options.maxRetryDelay ?? 30_000, 0, MAX_TIMER),
      },
      gzip: options.gzip ?? true,
      send: fetchTransport(options.fetch),
      signal: this.#abort.signal,
      report: (reason, error, events, details) => this.#report(reason, error, events, details),
    });
  }

  /**
   * Queues the collector's `order_placed` payload. Leave `messageId` out so the collector dedupes on
   * site + orderId: sending the same order twice stores it once.
   */
  orderPlaced(order: OrderInput): void {
    const event: OrderPlacedEvent = { ...order, event: 'order_placed' };
    event.timestamp ??= nowIso();
    this.#enqueue(event);
  }

  /** Queues a named server event about a person, found by e-mail, profile id or anonymous id. */
  track(name: string, properties?: Record<string, unknown>, identity?: Identity & CallOptions): void {
    const { messageId, timestamp, ...who } = identity ?? ({} as CallOptions);
    const event: GenericServerEvent = {
      event: name,
      messageId: messageId ?? randomId(),
      timestamp: toIso(timestamp),
      ...(who as Partial<GenericServerEvent>),
    };
    if (properties !== undefined) event.properties = properties;
    this.#enqueue(event);
  }

  /**
   * Creates or updates the profile keyed by `profile.userId` and/or `profile.email` (with both, they are linked:
   * two profiles that turn out to be one person are merged). Pass `anonymousId` (the browser SDK's visitor id) to
   * link that visitor's earlier events to the profile.
   */
  identify(profile: ServerIdentity, options: CallOptions & { anonymousId?: string } = {}): void {
    const event: GenericServerEvent = {
      event: 'identify',
      messageId: options.messageId ?? randomId(),
      timestamp: toIso(options.timestamp),
      profile,
    };
    if (options.anonymousId !== undefined) event.anonymousId = options.anonymousId;
    this.#enqueue(event);
  }

  /**
   * Tells the collector that `previousId` (a visitor id the person had before: another device, an id your site
   * kept from before sign-in) is the same person as `identity`: that visitor's events join the profile.
   */
  alias(previousId: string, identity: Identity & CallOptions): void {
    const { messageId, timestamp, ...who } = identity;
    this.#enqueue({
      event: 'alias',
      messageId: messageId ?? randomId(),
      timestamp: toIso(timestamp),
      ...(who as Partial<GenericServerEvent>),
      properties: { previousId },
    });
  }

  /** Events queued and not yet handed to a request. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends everything queued so far and resolves once each of those events is delivered or given up (given-up
   * events are reported through 'drop'). Never rejects.
   */
  async flush(): Promise<void> {
    const target = this.#seq;
    this.#drainThrough = Math.max(this.#drainThrough, target);
    this.#pump();
    while (this.#pendingThrough(target)) await this.#settled.promise;
  }

  /**
   * Stops taking events and delivers everything queued, retries included. With `timeout` (ms), gives up
   * after that long: what is still undelivered is reported through 'drop' with reason `closed`. Call it on
   * graceful shutdown of a long-running server. Not at the end of a serverless handler: a warm instance reuses
   * the client, and a closed one drops every later event (reason `closed`); `await flush()` there instead.
   */
  async close(options: { timeout?: number } = {}): Promise<void> {
    this.#closed = true;
    const flushed = this.flush();
    if (options.timeout === undefined) return flushed;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeout);
    });
    await Promise.race([flushed, deadline]);
    clearTimeout(timer);
    if (this.#pendingThrough(this.#seq)) {
      this.#abort.abort();
      const left = this.#queue.clear();
      this.#clearTimer();
      if (left.length > 0) this.#drop('closed', 'TM_ERR_CLOSED', left, 'close() timed out');
      await flushed;
    }
  }

  #enqueue(event: ServerEvent): void {
    if (this.#closed) {
      this.#report('closed', new TrackMateError('TM_ERR_CLOSED', { eventCount: 1 }), [event]);
      return;
    }
    let json: string;
    try {
      json = JSON.stringify(event);
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      this.#report('invalid', new TrackMateError('TM_ERR_NOT_SERIALIZABLE', { eventCount: 1, detail, cause }), [event]);
      return;
    }
    const bytes = utf8Length(json);
    if (bytes > MAX_EVENT_BYTES) {
      const detail = `${bytes} bytes`;
      this.#report('invalid', new TrackMateError('TM_ERR_EVENT_TOO_LARGE', { eventCount: 1, detail }), [event]);
      return;
    }
    if (this.#queue.length >= this.#maxQueueSize) {
      const detail = `${this.#maxQueueSize} events queued`;
      this.#report('queue_full', new TrackMateError('TM_ERR_QUEUE_FULL', { eventCount: 1, detail }), [event]);
      return;
    }
    this.#queue.push({ seq: ++this.#seq, json, bytes });
    this.#pump();
  }

  /** Starts requests while there is room: full batches always, partial ones up to `#drainThrough`. */
  #pump(): void {
    while (
      this.#inFlight.size < this.#maxInFlight &&
      this.#queue.length > 0 &&
      (this.#queue.length >= this.#flushAt || this.#queue.headSeq <= this.#drainThrough)
    ) {
      const batch = this.#queue.take(this.#flushAt, MAX_REQUEST_BYTES);
      const entry: InFlight = { firstSeq: batch[0]?.seq ?? 0 };
      void this.#sender.deliver(batch).then(() => {
        this.#inFlight.delete(entry);
        const settled = this.#settled;
        this.#settled = deferred();
        settled.resolve();
        this.#pump();
      });
      this.#inFlight.add(entry);
    }
    if (this.#queue.length === 0) this.#clearTimer();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#drainThrough = Math.max(this.#drainThrough, this.#seq);
        this.#pump();
      }, this.#flushInterval);
    }
  }

  #pendingThrough(seq: number): boolean {
    if (this.#queue.headSeq <= seq) return true;
    for (const entry of this.#inFlight) if (entry.firstSeq <= seq) return true;
    return false;
  }

  #drop(reason: DropReason, code: ErrorCode, batch: QueuedEvent[], detail: string): void {
    const error = new TrackMateError(code, { eventCount: batch.length, detail });
    this.#report(reason, error, eventsOf(batch));
  }

  #report(reason: DropReason, error: TrackMateError, events: ServerEvent[], details?: unknown[]): void {
    const report: DropReport = details ? { reason, events, error, details } : { reason, events, error };
    const heardDrop = this.emit('drop', report);
    const heardError = this.emit('error', error);
    if (!heardDrop && !heardError) {
      // Losing events silently is the one thing an analytics SDK must not do.
      console.error(`[trackmate] ${events.length} event(s) dropped (${reason}): ${error.message}`);
    }
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function clampInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`TrackMate: ${name} must be between ${min} and ${max}, got ${value}`);
  }
  return Math.floor(value);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

let lastMs = 0;
let lastIso = '';
/** `new Date().toISOString()`, computed once per millisecond: bursts of events share it. */
function nowIso(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

function toIso(timestamp: string | Date | undefined): string {
  if (timestamp === undefined) return nowIso();
  if (!(timestamp instanceof Date)) return timestamp;
  // An invalid Date is sent as is, for the collector to reject and the 'drop' report to show; never a throw.
  return Number.isNaN(timestamp.getTime()) ? String(timestamp) : timestamp.toISOString();
}
