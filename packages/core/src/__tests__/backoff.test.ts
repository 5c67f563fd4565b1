import { describe, expect, it, vi } from 'vitest';
import { BACKOFF_BASE, BACKOFF_MAX, backoffDelay, isRetryableStatus, parseRetryAfter } from '../backoff.js';

/** backoffDelay with Math.random() returning `r`. */
const withRandom = (r: number, attempt: number, base: number, max: number) => {
  const spy = vi.spyOn(Math, 'random').mockReturnValue(r);
  try {
    return backoffDelay(attempt, base, max);
  } finally {
    spy.mockRestore();
  }
};

describe('backoffDelay', () => {
  it('doubles from about one second per attempt, jittered within the upper half, and stops growing at 30 s', () => {
    expect(BACKOFF_BASE).toBe(1000);
    expect(BACKOFF_MAX).toBe(30_000);
    for (const [attempt, ceiling] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [5, 16_000],
      [6, 30_000],
      [40, 30_000],
    ] as const) {
      expect(withRandom(0, attempt, BACKOFF_BASE, BACKOFF_MAX)).toBe(ceiling / 2);
      expect(withRandom(0.5, attempt, BACKOFF_BASE, BACKOFF_MAX)).toBe((ceiling * 3) / 4);
      expect(withRandom(0.999_999, attempt, BACKOFF_BASE, BACKOFF_MAX)).toBeCloseTo(ceiling, -1);
    }
  });

  it('takes its own first delay and ceiling (the Node SDK: minRetryDelay, maxRetryDelay)', () => {
    for (const [attempt, ceiling] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [7, 30_000],
      [20, 30_000],
    ] as const) {
      expect(withRandom(0, attempt, 500, 30_000)).toBe(ceiling / 2);
    }
    expect(withRandom(0, 3, 10, 25)).toBe(12.5);
    expect(withRandom(0.5, 3, 0, 30_000)).toBe(0);
  });

  it('spreads a fleet of retries over the upper half of the delay', () => {
    const delays = Array.from({ length: 1000 }, () => backoffDelay(2, BACKOFF_BASE, BACKOFF_MAX));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays)).toBeLessThan(2000);
    expect(new Set(delays).size).toBeGreaterThan(900);
    // Both halves of the range are used, not a fixed point.
    expect(delays.some((d) => d < 1250)).toBe(true);
    expect(delays.some((d) => d > 1750)).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');

  it('reads delta seconds as ms', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 7 ', now)).toBe(7000);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });

  it('reads an HTTP date as the time left until it, and a past date as 0', () => {
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 28 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('measures from the current time by default', () => {
    const inAMinute = new Date(Date.now() + 60_000).toUTCString();
    expect(parseRetryAfter(inAMinute)).toBeGreaterThan(58_000);
    expect(parseRetryAfter(inAMinute)).toBeLessThanOrEqual(60_000);
  });

  it('ignores what is absent or unreadable', () => {
    for (const value of [null, undefined, '', '   ', 'soon', 'Infinity', '1.2.3', '12 s', '-5s']) {
      expect(parseRetryAfter(value, now), String(value)).toBeUndefined();
    }
  });
});

describe('isRetryableStatus', () => {
  it('retries timeouts, rate limits and server errors, and no other status', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([200, 202, 301, 400, 401, 403, 404, 409, 413, 415, 422].some(isRetryableStatus)).toBe(false);
  });
});
