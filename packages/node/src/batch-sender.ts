import { backoffDelay, isRetryableStatus } from '@trackmate/core';
import { batchBody, eventsOf, type QueuedEvent } from './batch-queue.js';
import { type DropReason, type ErrorCode, TrackMateError } from './errors.js';
import type { Transport } from './transport.js';
import type { AcceptedResponse, ServerEvent } from './types.js';

/** Bodies at least this large are gzipped (when `gzip` is on). */
const GZIP_THRESHOLD_BYTES = 16 * 1024;

/** Exponential backoff with jitter (see backoffDelay); the collector's Retry-After is always waited for. */
export interface BackoffOptions {
  /** First delay in ms (before jitter). */
  minDelay: number;
  /** Upper bound of the exponential part in ms. */
  maxDelay: number;
}

export interface BatchSenderOptions {
  url: string;
  secretKey: string;
  timeout: number;
  maxRetries: number;
  backoff: BackoffOptions;
  gzip: boolean;
  send: Transport;
  /** Aborted when the client gives up (close() timed out): waits end, requests are cancelled. */
  signal: AbortSignal;
  /** Where events that will not be delivered go. */
  report: (reason: DropReason, error: TrackMateError, events: ServerEvent[], details?: unknown[]) => void;
}

/**
 * Delivers one batch at a time: retries with backoff (honouring Retry-After) what can be retried, halves
 * a batch answered 413, falls back to plain bodies after a 415 to gzip, and reports everything it gives up.
 */
export class BatchSender {
  readonly #options: BatchSenderOptions;
  #gzip: boolean;

  constructor(options: BatchSenderOptions) {
    this.#options = options;
    this.#gzip = options.gzip;
  }

  /** Sends one batch until it is accepted or given up. Never rejects. */
  async deliver(batch: QueuedEvent[]): Promise<void> {
    const o = this.#options;
    const { body, bytes } = batchBody(batch);
    for (let attempt = 0; ; attempt++) {
      if (o.signal.aborted) {
        const error = new TrackMateError('TM_ERR_CLOSED', { eventCount: batch.length, detail: 'close() timed out' });
        o.report('closed', error, eventsOf(batch));
        return;
      }
      const compress = this.#gzip && bytes >= GZIP_THRESHOLD_BYTES;
      let failure: TrackMateError;
      let retryAfterMs: number | undefined;
      try {
        const result = await o.send({
          url: o.url,
          secretKey: o.secretKey,
          body,
          eventCount: batch.length,
          gzip: compress,
          timeout: o.timeout,
          signal: o.signal,
        });
        const { status } = result;
        if (status >= 200 && status < 300) {
          this.#reportRejected(batch, result.body);
          return;
        }
        if (status === 415 && compress) {
          // A collector (or proxy) that does not take gzip: send plain from now on, at once.
          this.#gzip = false;
          attempt--;
          continue;
        }
        if (status === 413 && batch.length > 1) {
          // Smaller limits than ours somewhere on the way: halve the batch until it fits.
          const half = Math.ceil(batch.length / 2);
          await this.deliver(batch.slice(0, half));
          await this.deliver(batch.slice(half));
          return;
        }
        const code: ErrorCode = status === 401 ? 'TM_ERR_UNAUTHORIZED' : 'TM_ERR_HTTP';
        failure = new TrackMateError(code, {
          status,
          eventCount: batch.length,
          detail: describeBody(status, result.body),
        });
        if (!isRetryableStatus(status)) {
          o.report('failed', failure, eventsOf(batch));
          return;
        }
        retryAfterMs = result.retryAfterMs;
      } catch (error) {
        failure =
          error instanceof TrackMateError
            ? error
            : new TrackMateError('TM_ERR_NETWORK', { eventCount: batch.length, cause: error });
        if (o.signal.aborted) continue;
      }
      if (attempt >= o.maxRetries) {
        o.report('failed', failure, eventsOf(batch));
        return;
      }
      const { minDelay, maxDelay } = o.backoff;
      await sleep(Math.max(backoffDelay(attempt + 1, minDelay, maxDelay), retryAfterMs ?? 0), o.signal);
    }
  }

  #reportRejected(batch: QueuedEvent[], answer: unknown): void {
    const rejected = (answer as Partial<AcceptedResponse> | undefined)?.rejected;
    if (!Array.isArray(rejected) || rejected.length === 0) return;
    const events: ServerEvent[] = [];
    const details: unknown[] = [];
    for (const entry of rejected) {
      const item = batch[entry.index];
      if (!item) continue;
      events.push(JSON.parse(item.json) as ServerEvent);
      details.push(entry.errors);
    }
    if (events.length === 0) return;
    const error = new TrackMateError('TM_ERR_REJECTED', {
      status: 202,
      eventCount: events.length,
      detail: `${events.length} of ${batch.length} events: ${JSON.stringify(details[0]).slice(0, 300)}`,
    });
    this.#options.report('rejected', error, events, details);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function describeBody(status: number, body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return `HTTP ${status}${text ? ` ${text.slice(0, 300)}` : ''}`;
}
