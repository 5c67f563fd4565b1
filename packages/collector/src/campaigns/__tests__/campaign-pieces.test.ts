import { describe, expect, it } from 'vitest';
import type { Config } from '../../config.js';
import { matchesFilters } from '../property-filters.js';
import { render, unknownRoots } from '../templates.js';
import { readSourceParam, unsubscribeUrl, verifyUnsubscribe } from '../unsubscribe-links.js';

const ctx = {
  profile: { firstName: 'Ada <b>', email: 'ada@example.com' },
  event: {
    name: 'add_to_cart',
    timestamp: '2026-11-28T10:00:00.000Z',
    properties: { productId: 'sku&1', items: [{ sku: 'a' }] },
  },
};

describe('templates', () => {
  it('fills placeholders, escapes every value in HTML only, and leaves unknown paths empty', () => {
    const t =
      'Hi {{profile.firstName}}, {{ event.properties.productId }} {{event.properties.items.0.sku}} {{profile.phone}}!';
    expect(render(t, ctx, 'text')).toBe('Hi Ada <b>, sku&1 a !');
    expect(render(t, ctx, 'html')).toBe('Hi Ada &lt;b&gt;, sku&amp;1 a !');
  });
  it('never reads through prototypes', () => {
    expect(render('{{profile.constructor.name}}{{event.__proto__}}', ctx, 'text')).toBe('');
  });
  it('names the roots a trigger may not use', () => {
    expect(unknownRoots('{{profile.firstName}} {{process.env.SECRET}} {{unsubscribeUrl}}')).toEqual([
      'process.env.SECRET',
    ]);
  });
});

describe('property filters', () => {
  const props = { price: 19.9, currency: 'EUR', items: [{ sku: 'a' }], coupon: null };
  it.each([
    [{ property: 'price', op: 'gt', value: 10 }, true],
    [{ property: 'price', op: 'lte', value: 10 }, false],
    [{ property: 'price', op: 'gt', value: '10' }, false], // a number is not compared with a string
    [{ property: 'currency', op: 'eq', value: 'EUR' }, true],
    [{ property: 'currency', op: 'ne', value: 'EUR' }, false],
    [{ property: 'items.0.sku', op: 'eq', value: 'a' }, true],
    [{ property: 'coupon', op: 'exists' }, true],
    [{ property: 'missing', op: 'exists', value: false }, true],
    [{ property: 'missing', op: 'exists' }, false],
  ] as const)('%o → %s', (filter, expected) => {
    expect(matchesFilters(props, [filter as never])).toBe(expected);
  });
});

describe('unsubscribe links', () => {
  it('unsubscribe links verify for their own site and profile only', () => {
    const config = { publicUrl: 'https://collector.example' } as Config;
    const url = new URL(unsubscribeUrl(config, 'k'.repeat(32), 'a'.repeat(24), 'b'.repeat(24)));
    expect(url.origin + url.pathname).toBe('https://collector.example/api/unsubscribe');
    const sig = url.searchParams.get('sig')!;
    expect(verifyUnsubscribe('k'.repeat(32), 'a'.repeat(24), 'b'.repeat(24), sig)).toBe(true);
    expect(verifyUnsubscribe('k'.repeat(32), 'a'.repeat(24), 'c'.repeat(24), sig)).toBe(false);
    expect(verifyUnsubscribe('j'.repeat(32), 'a'.repeat(24), 'b'.repeat(24), sig)).toBe(false);
  });

  it('a link naming the e-mail that sent it is signed with that source: another source does not verify', () => {
    const config = { publicUrl: 'https://collector.example' } as Config;
    const flow = { kind: 'flow', id: 'f'.repeat(24), step: 2 } as const;
    const url = new URL(unsubscribeUrl(config, 'k'.repeat(32), 'a'.repeat(24), 'b'.repeat(24), flow));
    const src = url.searchParams.get('src')!;
    const sig = url.searchParams.get('sig')!;
    expect(src).toBe(`f.${'f'.repeat(24)}.2`);
    expect(readSourceParam(src)).toEqual(flow);
    expect(verifyUnsubscribe('k'.repeat(32), 'a'.repeat(24), 'b'.repeat(24), sig, src)).toBe(true);
    expect(verifyUnsubscribe('k'.repeat(32), 'a'.repeat(24), 'b'.repeat(24), sig)).toBe(false);
    expect(verifyUnsubscribe('k'.repeat(32), 'a'.repeat(24), 'b'.repeat(24), sig, `f.${'f'.repeat(24)}.1`)).toBe(false);
    expect(readSourceParam(`c.${'c'.repeat(24)}`)).toEqual({ kind: 'campaign', id: 'c'.repeat(24) });
    for (const bad of [`f.${'f'.repeat(24)}.11`, `f.${'f'.repeat(24)}.0`, 'x.1', `c.${'C'.repeat(24)}`]) {
      expect(readSourceParam(bad)).toBeNull();
    }
  });
});
