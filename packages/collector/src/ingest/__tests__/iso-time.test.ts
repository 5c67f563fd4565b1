import { describe, expect, it } from 'vitest';
import { isoTime } from '../iso-time.js';

const reference = (ms: number) => new Date(ms).toISOString();

describe('isoTime: toISOString() of the enriched timestamp, formatted faster', () => {
  it('gives toISOString() exactly, over 200,000 random times and every edge of an hour, a day and a year', () => {
    const until = Date.UTC(10000, 0, 1);
    const times: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      // alternately anywhere in 1970-9999 and within a few hours of now (the hour memo then hits and misses)
      times.push(i % 2 ? Math.floor(Math.random() * until) : Date.now() - Math.floor(Math.random() * 4 * 3_600_000));
    }
    for (const edge of [
      0,
      Date.UTC(2024, 1, 29),
      Date.UTC(2024, 2, 1),
      Date.UTC(2100, 2, 1),
      Date.UTC(2026, 11, 31, 23),
      until,
    ]) {
      for (let d = -2_000; d <= 2_000; d++) times.push(edge + d);
    }
    times.push(until - 1, 59_999, 60_000, 3_599_999, 3_600_000);
    // one assertion over all of them: an expect() per time took seconds on a busy machine (the test timed out)
    let compared = 0;
    const wrong: Array<{ ms: number; got: string; want: string }> = [];
    for (const ms of times) {
      if (ms < 0) continue;
      const got = isoTime(ms);
      const want = reference(ms);
      if (got !== want) wrong.push({ ms, got, want });
      compared++;
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThan(220_000);
  }, 60_000);

  it('leaves other times to toISOString(): before 1970, from the year 10000, fractions, and invalid ones throw as it does', () => {
    for (const ms of [-1, -86_400_001, Date.UTC(10000, 0, 1), 8.64e15, 1_700_000_000_000.7, 0.5]) {
      expect(isoTime(ms), String(ms)).toBe(reference(ms));
    }
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) {
      expect(() => isoTime(ms)).toThrow(RangeError);
    }
  });
});
