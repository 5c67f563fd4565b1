/** Retry policy: exponential backoff with jitter; a server's Retry-After always wins. */

/** First retry waits about this long (ms, before jitter). */
export const BACKOFF_BASE = 1000;
/** Upper bound of the exponential part (ms). */
export const BACKOFF_MAX = 30_000;

/**
 * Delay before retry number `attempt` (1 = first retry): "equal jitter", a random point in the upper half of
 * min(max, base * 2^(attempt - 1)), so a fleet of pages that failed together does not retry together.
 */
export const backoff = (attempt: number, random: () => number = Math.random): number =>
  (Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1)) * (1 + random())) / 2;

/** Parses Retry-After (delta seconds or an HTTP date) into ms; undefined when absent or unreadable. */
export const retryAfter = (value: string | null, now: number = Date.now()): number | undefined => {
  const ms = value == null || value === '' ? NaN : +value >= 0 ? +value * 1000 : Date.parse(value) - now;
  return Number.isNaN(ms) ? undefined : Math.max(0, ms);
};

/** Statuses worth retrying: timeouts, rate limits and server errors; every other 4xx is final. */
export const retryable = (status: number): boolean => status === 408 || status === 429 || status > 499;
