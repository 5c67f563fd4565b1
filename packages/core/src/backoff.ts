/** Retry policy shared by the SDKs: which answers to retry, how long to wait, and the server's Retry-After. */

/** A first retry about a second after the failure (ms, before jitter); the browser SDK's policy. */
export const BACKOFF_BASE = 1000;
/** Upper bound of the exponential part (ms); the browser SDK's policy. */
export const BACKOFF_MAX = 30_000;

/**
 * Delay in ms before retry number `attempt` (1 = first retry): "equal jitter", a random point in the upper
 * half of min(max, base * 2^(attempt - 1)), so clients that failed together do not retry together and every
 * retry still waits at least half the nominal delay.
 */
export const backoffDelay = (attempt: number, base: number, max: number): number =>
  (Math.min(max, base * 2 ** (attempt - 1)) * (1 + Math.random())) / 2;

/**
 * Parses a Retry-After header, delta seconds or an HTTP date, into ms from `now` (0 for a date in the past);
 * undefined when it is absent or unreadable.
 */
export const parseRetryAfter = (value: string | null | undefined, now: number = Date.now()): number | undefined => {
  // Digits first: Date.parse reads a bare number as a year.
  const ms = value ? (/^\s*\d/.test(value) ? +value * 1000 : Date.parse(value) - now) : NaN;
  return ms < 0 ? 0 : ms >= 0 ? ms : undefined;
};

/** Statuses worth retrying: timeouts, rate limits and server errors; every other status is final. */
export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status > 499;
