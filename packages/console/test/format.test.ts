import { describe, expect, it } from 'vitest';
import { dayRange, daysBetween, isDay, money, percent } from '../lib/format.js';

describe('console formatting and the Overview date range', () => {
  it('lists every UTC day of a range, both ends included, across a month end', () => {
    expect(daysBetween('2026-01-30', '2026-02-02')).toEqual(['2026-01-30', '2026-01-31', '2026-02-01', '2026-02-02']);
    expect(daysBetween('2026-03-01', '2026-03-01')).toEqual(['2026-03-01']);
  });

  it('takes only real days (no 31 February, no free text)', () => {
    expect(isDay('2026-02-28')).toBe(true);
    expect(isDay('2026-02-31')).toBe(false);
    expect(isDay('2026-1-1')).toBe(false);
    expect(isDay('yesterday')).toBe(false);
  });

  it('defaults to the last 30 days, refuses a reversed range and caps it at 366 days', () => {
    const r = dayRange({ to: '2026-12-31' });
    expect(r).toEqual({ from: '2026-12-02', to: '2026-12-31' });
    expect(dayRange({ from: '2026-12-31', to: '2026-12-01' })).toMatchObject({
      from: '2026-11-02',
      error: expect.any(String),
    });
    expect(dayRange({ from: '2020-01-01', to: '2026-12-31' })).toMatchObject({
      from: '2025-12-31',
      error: expect.any(String),
    });
    expect(dayRange({ from: ['2026-12-01', 'x'], to: '2026-12-03' })).toEqual({ from: '2026-12-01', to: '2026-12-03' });
  });

  it('formats money with two decimals and rates as percent', () => {
    expect(money(548)).toBe('548.00');
    expect(money(1234.5)).toBe('1,234.50');
    expect(percent(0.1234)).toBe('12.3 %');
    expect(percent(null)).toBe('—');
  });
});
