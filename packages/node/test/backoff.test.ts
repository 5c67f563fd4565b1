import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryableStatus, parseRetryAfter } from '../src/backoff.js';

const policy = { minDelay: 500, maxDelay: 30_000 };

describe('backoffDelay', () => {
  it('doubles per attempt, jittered within the upper half, and stops growing at maxDelay', () => {
    for (const [attempt, ceiling] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [7, 30_000],
      [20, 30_000],
    ] as const) {
      expect(backoffDelay(attempt, policy, undefined, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(attempt, policy, undefined, () => 0.999_999)).toBe(ceiling);
    }
  });

  it('never retries sooner than Retry-After, even past maxDelay', () => {
    expect(backoffDelay(1, policy, 2000, () => 0.5)).toBe(2000);
    expect(backoffDelay(1, policy, 120_000, () => 0.5)).toBe(120_000);
    expect(backoffDelay(5, policy, 10, () => 0)).toBe(4000);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.parse('2026-11-28T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sat, 28 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

it('retries timeouts, rate limits and server errors, and no other status', () => {
  expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
  expect([400, 401, 403, 404, 409, 413, 415, 422].some(isRetryableStatus)).toBe(false);
});
