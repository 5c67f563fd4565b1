/** Retry policy: exponential backoff with jitter, never shorter than the server's Retry-After. */

export interface BackoffOptions {
  /** First delay in ms (before jitter). */
  minDelay: number;
  /** Upper bound of the exponential part in ms. */
  maxDelay: number;
}

/** Delay before retry number `attempt` (1 = first retry). */
export function backoffDelay(
  attempt: number,
  { minDelay, maxDelay }: BackoffOptions,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxDelay, minDelay * 2 ** (attempt - 1));
  // "Equal jitter": a random point in the upper half spreads many clients' retries apart while keeping
  // every retry at least half the nominal delay away.
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(Math.round(jittered), retryAfterMs ?? 0);
}

/** Parses Retry-After (delta seconds or an HTTP date) into ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Statuses worth retrying: timeouts, rate limits and server errors. Every other 4xx is final. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
