import { describe, expect, it } from 'vitest';
import { revenueOf } from '../record-rollups.js';

describe('revenue of an order event', () => {
  it('is orderTotal when given, else the items amount + tax − discount', () => {
    expect(revenueOf({ orderTotal: 42.5, items: [{ amount: 1 }] })).toBe(42.5);
    expect(revenueOf({ items: [{ amount: 10, tax: 2, discount: 1 }, { amount: 5.05 }] })).toBe(16.05);
    expect(revenueOf({ items: 'nope' })).toBe(0);
  });
});
