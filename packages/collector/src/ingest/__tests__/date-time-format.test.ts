import { Format } from 'typebox/format';
import { describe, expect, it } from 'vitest';
import { isoUtcDateTime } from '../date-time-format.js';

describe("the date-time format's fast path", () => {
  it("answers as TypeBox's IsDateTime for every string of the toISOString shape, and leaves other shapes to it", () => {
    // digits drawn so that edges come often: months 00–19, days 00–39, hours 00–29, seconds 55–64, leap years
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const pick = (list: number[]) => list[Math.floor(Math.random() * list.length)]!;
    const years = [1900, 2000, 2023, 2024, 2100, 2400, 0, 9999];
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      const s =
        `${pad(pick(years), 4)}-${pad(Math.floor(Math.random() * 20), 2)}-${pad(Math.floor(Math.random() * 40), 2)}` +
        `T${pad(Math.floor(Math.random() * 30), 2)}:${pad(pick([0, 30, 59, 60, 99]), 2)}:` +
        `${pad(55 + Math.floor(Math.random() * 10), 2)}.${pad(Math.floor(Math.random() * 1000), 3)}Z`;
      expect(isoUtcDateTime(s), s).toBe(Format.IsDateTime(s));
      checked++;
    }
    expect(checked).toBe(20_000);
    for (const s of ['2026-02-29T10:00:00.000Z', '2024-02-29T23:59:60.000Z', '2024-12-31T23:59:60.000Z']) {
      expect(isoUtcDateTime(s), s).toBe(Format.IsDateTime(s));
    }
    for (const other of ['2026-11-28T12:00:00Z', '2026-11-28t12:00:00.000z', '2026-11-28T12:00:00.000+01:00', 'x']) {
      expect(isoUtcDateTime(other)).toBeUndefined();
    }
    expect(isoUtcDateTime('2026-1a-28T12:00:00.000Z')).toBeUndefined();
  });

  it('leaves to TypeBox a string of that shape with a non-digit in any digit position', () => {
    const good = '2024-02-29T23:59:59.999Z';
    const digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
    for (const at of digits) {
      for (const c of ['/', ':', 'a', ' ', 'é', '٣']) {
        const s = good.slice(0, at) + c + good.slice(at + 1);
        expect(isoUtcDateTime(s), s).toBeUndefined();
        expect(Format.IsDateTime(s), s).toBe(false);
      }
    }
    expect(isoUtcDateTime(good)).toBe(true);
  });
});
