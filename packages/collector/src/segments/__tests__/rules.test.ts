import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { addEvents, emptyFacts, pruneDays } from '../facts.js';
import { eventCount, matches } from '../rules.js';

const now = new Date('2026-03-10T12:00:00Z');
const at = (iso: string) => new Date(iso);
const facts = () =>
  addEvents(emptyFacts(new Types.ObjectId(), new Types.ObjectId()), [
    { name: 'add_to_cart', timestamp: at('2026-03-10T08:00:00Z'), properties: {}, sentBy: 'client' },
    { name: 'add_to_cart', timestamp: at('2026-03-04T23:59:00Z'), properties: {}, sentBy: 'client' },
    { name: 'add_to_cart', timestamp: at('2026-03-03T10:00:00Z'), properties: {}, sentBy: 'client' },
    { name: 'page_view', timestamp: at('2026-03-01T10:00:00Z'), properties: {}, sentBy: 'client', bot: true },
    {
      name: 'order_placed',
      timestamp: at('2026-03-02T10:00:00Z'),
      properties: { orderTotal: 120, currency: 'EUR' },
      sentBy: 'server',
    },
    { name: 'order_placed', timestamp: at('2026-03-02T11:00:00Z'), properties: { orderTotal: 999 }, sentBy: 'client' },
    {
      name: 'order_refunded',
      timestamp: at('2026-03-05T10:00:00Z'),
      properties: { amount: 20, currency: 'EUR' },
      sentBy: 'server',
    },
  ]);

describe('profile facts', () => {
  it('counts orders and revenue per currency from servers only, refunds taken off, browser bots left out', () => {
    const f = facts();
    expect(f.orders).toBe(1);
    expect(f.revenue).toEqual({ EUR: 100 });
    expect(f.counts.page_view).toBeUndefined();
    expect(f.counts.order_placed).toBe(2); // the browser's claim is an event, not an order
    expect(f.firstSeen).toEqual(at('2026-03-02T10:00:00Z'));
    expect(f.lastSeen).toEqual(at('2026-03-10T08:00:00Z'));
    expect(f.lastOrderAt).toEqual(at('2026-03-02T10:00:00Z'));
  });

  it('leaves out e-mail clicks and opens flagged as a scanner’s or a privacy proxy’s, and counts the people’s', () => {
    const hit = (name: string, suspect?: string) => ({
      name,
      timestamp: at('2026-03-11T08:00:00Z'),
      properties: { campaignId: 'c'.repeat(24), ...(suspect ? { suspect } : {}) },
      sentBy: 'server' as const,
    });
    const f = addEvents(facts(), [
      hit('email_open', 'privacy-proxy'),
      hit('email_open', 'scanner-timing'),
      hit('email_click', 'scanner-agent'),
      hit('email_open'),
    ]);
    expect(f.counts.email_open).toBe(1);
    expect(f.counts.email_click).toBeUndefined();
    expect(f.lastSeen).toEqual(at('2026-03-11T08:00:00Z'));
    const scannedOnly = addEvents(facts(), [hit('email_open', 'privacy-proxy')]);
    expect(scannedOnly.counts.email_open).toBeUndefined();
    expect(scannedOnly.lastSeen).toEqual(at('2026-03-10T08:00:00Z')); // a proxy's load is not the person seen
  });

  it('counts an event in the last N UTC days, today included', () => {
    const f = facts();
    expect(eventCount(f, { event: 'add_to_cart', withinDays: 1 }, now)).toBe(1);
    expect(eventCount(f, { event: 'add_to_cart', withinDays: 7 }, now)).toBe(2); // 4 March is day 7
    expect(eventCount(f, { event: 'add_to_cart', withinDays: 8 }, now)).toBe(3);
    expect(eventCount(f, { event: 'add_to_cart' }, now)).toBe(3);
  });

  it('drops per-day counts older than 90 days and keeps the totals', () => {
    const f = facts();
    pruneDays(f, new Date('2026-06-05T00:00:00Z'));
    expect(f.days.add_to_cart).toEqual({ '20260310': 1 });
    expect(f.counts.add_to_cart).toBe(3);
  });
});

describe('segment rules', () => {
  const person = (metadata?: Record<string, unknown>, consent = true) => ({
    profile: { email: 'a@b.c', consent: { email: consent }, metadata },
    facts: facts(),
  });

  it('did and did not, with at least N times in a window', () => {
    const rule = (did: boolean, atLeast: number) => ({
      match: 'all' as const,
      rules: [{ type: 'event' as const, event: 'add_to_cart', did, atLeast, withinDays: 7 }],
    });
    expect(matches(rule(true, 2), person(), now)).toBe(true);
    expect(matches(rule(true, 3), person(), now)).toBe(false);
    expect(matches(rule(false, 3), person(), now)).toBe(true);
    expect(matches(rule(false, 1), { ...person(), facts: null }, now)).toBe(true);
  });

  it('tags, metadata keys and consent; any versus all', () => {
    const p = person({ tags: ['vip'], plan: { tier: 'pro' } }, false);
    const tag = { type: 'profile' as const, field: 'tags', op: 'eq' as const, value: 'vip' };
    const tier = { type: 'profile' as const, field: 'metadata.plan.tier', op: 'eq' as const, value: 'pro' };
    const consent = { type: 'profile' as const, field: 'consent', op: 'eq' as const, value: true };
    expect(matches({ match: 'all', rules: [tag, tier] }, p, now)).toBe(true);
    expect(matches({ match: 'all', rules: [tag, consent] }, p, now)).toBe(false);
    expect(matches({ match: 'any', rules: [tag, consent] }, p, now)).toBe(true);
    expect(matches({ match: 'all', rules: [{ ...tag, op: 'ne' }] }, p, now)).toBe(false);
    expect(
      matches({ match: 'all', rules: [{ type: 'profile', field: 'metadata.__proto__', op: 'exists' }] }, p, now),
    ).toBe(false);
  });

  it('revenue in one currency and orders', () => {
    const rev = (value: number) => ({
      match: 'all' as const,
      rules: [{ type: 'value' as const, metric: 'revenue' as const, currency: 'EUR', op: 'gte' as const, value }],
    });
    expect(matches(rev(100), person(), now)).toBe(true);
    expect(matches(rev(100.01), person(), now)).toBe(false);
    expect(
      matches(
        { match: 'all', rules: [{ type: 'value', metric: 'revenue', currency: 'USD', op: 'gte', value: 0 }] },
        person(),
        now,
      ),
    ).toBe(true);
  });
});
