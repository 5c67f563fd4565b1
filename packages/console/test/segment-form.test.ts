import type { SegmentRule } from '@trackmate/schema';
import { describe, expect, it } from 'vitest';
import { definitionOfForm, describeDefinition, emptyRow, rowOfRule, ruleOfRow } from '../lib/segment-form.js';

describe('the segment builder’s rows and the collector’s rules', () => {
  const rules: SegmentRule[] = [
    { type: 'profile', field: 'consent', op: 'eq', value: true },
    { type: 'profile', field: 'tags', op: 'ne', value: 'vip' },
    { type: 'profile', field: 'firstTouch.source', op: 'eq', value: 'google.com' },
    { type: 'profile', field: 'metadata.plan.seats', op: 'gte', value: 5 },
    { type: 'profile', field: 'country', op: 'exists' },
    { type: 'event', event: 'add_to_cart', atLeast: 2, withinDays: 7 },
    { type: 'event', event: 'order_placed', did: false },
    { type: 'value', metric: 'revenue', currency: 'EUR', op: 'gte', value: 100 },
    { type: 'value', metric: 'orders', op: 'gt', value: 3 },
  ];

  it('a saved rule comes back from its row as it was', () => {
    for (const rule of rules) expect(ruleOfRow(rowOfRule(rule))).toEqual(rule);
  });

  it('typed values become the types the collector takes; an empty currency is left for it to refuse', () => {
    expect(ruleOfRow({ ...emptyRow('profile'), field: 'consent', value: 'false' })).toEqual({
      type: 'profile',
      field: 'consent',
      op: 'eq',
      value: false,
    });
    expect(ruleOfRow({ ...emptyRow('profile'), field: 'country', value: 'DE' })).toEqual({
      type: 'profile',
      field: 'country',
      op: 'eq',
      value: 'DE',
    });
    expect(ruleOfRow({ ...emptyRow('value'), value: '49.5', currency: ' usd ' })).toEqual({
      type: 'value',
      metric: 'revenue',
      op: 'gte',
      value: 49.5,
      currency: 'USD',
    });
    expect(ruleOfRow({ ...emptyRow('value'), value: '10', currency: '' })).not.toHaveProperty('currency');
    // a value that is no number is passed on as typed, for the collector's 400 with its reason
    expect(ruleOfRow({ ...emptyRow('value'), value: 'ten' })).toMatchObject({ value: 'ten' });
  });

  it('says a definition in words', () => {
    expect(describeDefinition({ match: 'all', rules: [rules[5]!, rules[6]!] })).toBe(
      'did add_to_cart at least 2 times in the last 7 days and did not do order_placed',
    );
    expect(describeDefinition({ match: 'any', rules: [rules[0]!, rules[1]!, rules[7]!] })).toBe(
      'e-mail consent or has not tag vip or revenue (EUR) ≥ 100',
    );
  });

  it('reads the builder’s hidden field, refusing an empty or unreadable one', () => {
    expect(definitionOfForm(JSON.stringify({ match: 'all', rules: [rules[0]] }))).toEqual({
      match: 'all',
      rules: [rules[0]],
    });
    expect(definitionOfForm(JSON.stringify({ match: 'all', rules: [] }))).toEqual({ error: 'Add at least one rule.' });
    expect(definitionOfForm('{')).toHaveProperty('error');
    expect(definitionOfForm(null)).toHaveProperty('error');
  });
});
