import { describe, expect, it } from 'vitest';
import { refundOf, revenueOf } from '../record-rollups.js';

describe('revenue of an order event', () => {
  it('is orderTotal when given, else the items amount + tax − discount', () => {
    expect(revenueOf({ orderTotal: 42.5, items: [{ amount: 1 }] })).toBe(42.5);
    expect(revenueOf({ items: [{ amount: 10, tax: 2, discount: 1 }, { amount: 5.05 }] })).toBe(16.05);
    expect(revenueOf({ items: 'nope' })).toBe(0);
  });
});

describe('money of a refund', () => {
  it('is its positive amount, else nothing (a refund never adds revenue)', () => {
    expect(refundOf({ amount: 12.5 })).toBe(12.5);
    expect(refundOf({ amount: -3 })).toBe(0);
    expect(refundOf({ amount: '12.5' })).toBe(0);
  });
});
