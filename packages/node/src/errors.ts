import type { ServerEvent } from './types.js';

/** Every error the SDK reports, in one table (code → meaning). */
export const ERROR_CODES = {
  TM_ERR_NETWORK: 'the collector could not be reached',
  TM_ERR_TIMEOUT: 'the collector did not answer in time',
  TM_ERR_HTTP: 'the collector answered with an error status',
  TM_ERR_UNAUTHORIZED: 'the secret key was refused (401)',
  TM_ERR_REJECTED: 'the collector rejected some events of a batch',
  TM_ERR_EVENT_TOO_LARGE: 'an event is larger than 32 KB once serialized',
  TM_ERR_NOT_SERIALIZABLE: 'an event could not be serialized to JSON',
  TM_ERR_QUEUE_FULL: 'the in-memory queue is full; new events are dropped',
  TM_ERR_CLOSED: 'the client was closed; new events are dropped',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TrackMateError extends Error {
  override readonly name = 'TrackMateError';
  readonly code: ErrorCode;
  /** HTTP status, when the collector answered. */
  readonly status: number | undefined;
  /** Events the failed operation carried. */
  readonly eventCount: number;

  constructor(
    code: ErrorCode,
    options: { status?: number; eventCount?: number; detail?: string; cause?: unknown } = {},
  ) {
    const detail = options.detail ? `: ${options.detail}` : '';
    super(`${ERROR_CODES[code]}${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.eventCount = options.eventCount ?? 0;
  }
}

/** Why events were given up. */
export type DropReason =
  /** The in-memory queue was full (`maxQueueSize`). */
  | 'queue_full'
  /** The event is over 32 KB once serialized, or could not be serialized. */
  | 'invalid'
  /** The collector refused the event (its errors are in `details`). */
  | 'rejected'
  /** The request failed for good: a final status (400, 401, 413…) or retries exhausted. */
  | 'failed'
  /** The client was closed before the event could be delivered. */
  | 'closed';

/** Events that will not reach the collector, and why. Persist them if they matter (orders do). */
export interface DropReport {
  reason: DropReason;
  events: ServerEvent[];
  error: TrackMateError;
  /** With `rejected`: the collector's errors, one entry per event. */
  details?: unknown[];
}
