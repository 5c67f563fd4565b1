import { describe, expect, it } from 'vitest';
import { spanFields } from '../stats-blocks.js';

const days = (month: string, first: number, last: number) =>
  Array.from({ length: last - first + 1 }, (_, i) => `${month}-${String(first + i).padStart(2, '0')}`);

describe('spanFields: the pre-merged runs a cut month is read as', () => {
  it('covers 8–30 September with one day and four aligned runs, each day once', () => {
    expect(spanFields(days('2026-09', 8, 30))).toEqual(['d:2026-09-08', 't:3:1', 't:3:2', 't:2:6', 't:1:14']);
  });

  it('reads the first days of a month as the runs that start on the 1st', () => {
    expect(spanFields(days('2026-12', 1, 6))).toEqual(['t:2:0', 't:1:2']);
    expect(spanFields(days('2026-12', 1, 16))).toEqual(['t:4:0']);
    expect(spanFields(days('2026-12', 1, 1))).toEqual(['d:2026-12-01']);
  });

  it('covers every day of any range of a 31-day month exactly once', () => {
    const cover = (field: string): number[] => {
      const day = /^d:\d{4}-\d{2}-(\d{2})$/.exec(field);
      if (day) return [Number(day[1]) - 1];
      const [, level, n] = field.split(':').map(Number) as [number, number, number];
      return Array.from({ length: 2 ** level }, (_, i) => n * 2 ** level + i);
    };
    for (let a = 1; a <= 31; a++) {
      for (let b = a; b <= 31; b++) {
        const fields = spanFields(days('2026-10', a, b));
        const covered = fields.flatMap(cover).sort((x, y) => x - y);
        expect(covered).toEqual(Array.from({ length: b - a + 1 }, (_, i) => a - 1 + i));
        expect(fields.length).toBeLessThanOrEqual(8);
      }
    }
  });
});
