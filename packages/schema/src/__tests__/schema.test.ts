import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import {
  ClientEvent,
  findUnsafeKey,
  inspectJson,
  OrderPlacedEvent,
  STANDARD_EVENT_NAMES,
  StandardEventProperties,
} from '../index.js';

// The order_placed example, verbatim.
const specOrder = {
  event: 'order_placed',
  orderId: '1234',
  profile: { firstName: 'Jane', lastName: 'Doe', email: 'jane@example.com', phone: '+911234567890' },
  shippingAddress: { street: '123 Main St', city: 'Kolkata', postcode: '700001', country: 'IN' },
  billingAddress: { street: '123 Main St', city: 'Kolkata', postcode: '700001', country: 'IN' },
  items: [{ name: 'T-Shirt', sku: 'TSHIRT001', amount: 499, tax: 49, discount: 0 }],
  orderTotal: 548,
  timestamp: '2025-08-27T18:30:00Z',
};

const envelope = {
  messageId: '7c0e2a0e-8f5b-4a43-9d6c-1c1f7c3b2a10',
  name: 'page_view',
  timestamp: '2026-11-28T10:00:00.000Z',
  anonymousId: 'anon-1',
  properties: { url: 'https://shop.test/', referrer: '', title: 'Home' },
};

describe('@trackmate/schema', () => {
  it('validates the documented order_placed JSON as written', () => {
    expect(Compile(OrderPlacedEvent).Check(specOrder)).toBe(true);
  });

  it('rejects an order whose phone is not E.164', () => {
    const bad = { ...specOrder, profile: { ...specOrder.profile, phone: '12345' } };
    expect(Compile(OrderPlacedEvent).Check(bad)).toBe(false);
  });

  it('accepts the client envelope and rejects unknown top-level fields', () => {
    const C = Compile(ClientEvent);
    expect(C.Check(envelope)).toBe(true);
    expect(C.Check({ ...envelope, extra: 1 })).toBe(false);
    expect(C.Check({ ...envelope, name: 'Bad Name' })).toBe(false);
    expect(C.Check({ ...envelope, timestamp: 'yesterday' })).toBe(false);
    expect(C.Check({ ...envelope, profileId: 'not-hex' })).toBe(false);
  });

  const samples: Record<string, [unknown, unknown]> = {
    active_site: [{ url: 'https://a.test', sessionId: 's1' }, { url: 'https://a.test' }],
    page_view: [
      { url: 'u', referrer: '', title: 't' },
      { url: 'u', title: 't' },
    ],
    deep_scroll: [{ percentage: 50 }, { percentage: 150 }],
    button_click: [{ elementId: 'buy', text: 'Buy' }, { elementId: 'buy' }],
    add_to_cart: [
      { productId: 'p1', quantity: 2, price: 9.5 },
      { productId: 'p1', quantity: 0, price: 1 },
    ],
    form_submit: [{ formId: 'f', fields: { email: 'a@b.co', accept_terms: true } }, { formId: 'f' }],
    order_product: [
      { orderId: 'o1', items: [{ productId: 'p', amount: 1, tax: 0, discount: 0 }] },
      { orderId: 'o1', items: [] },
    ],
    identify: [{ email: 'a@b.co', firstName: 'A' }, { email: 'not-an-email' }],
  };

  it('has a required-properties schema for every standard client event', () => {
    expect(STANDARD_EVENT_NAMES.sort()).toEqual(Object.keys(samples).sort());
  });

  for (const [name, [good, bad]] of Object.entries(samples)) {
    it(`${name}: accepts its required properties and rejects a payload missing or breaking one`, () => {
      const C = Compile(StandardEventProperties[name as keyof typeof StandardEventProperties]);
      expect(C.Check(good)).toBe(true);
      expect(C.Check(bad)).toBe(false);
    });
  }

  it('finds operator, dotted and __proto__ keys at any depth, and excessive nesting', () => {
    expect(findUnsafeKey({ a: { b: [1, { c: 2 }] } })).toBeUndefined();
    expect(findUnsafeKey({ a: { $where: 1 } })).toMatch(/\/a\/\$where/);
    expect(findUnsafeKey({ list: [{ 'x.y': 1 }] })).toMatch(/'\.'/);
    expect(findUnsafeKey(JSON.parse('{"p":{"__proto__":{"admin":true}}}'))).toMatch(/reserved/);
    expect(findUnsafeKey({ matrix: [[1, 2]] })).toMatch(/\/matrix\/0: arrays inside arrays/);
    expect(findUnsafeKey({ list: [{ inner: [1, 2] }] })).toBeUndefined();
    // BSON cannot encode a key holding NUL: refused with the character spelled out, not printed raw
    expect(findUnsafeKey(JSON.parse('{"props":{"a\\u0000b":1}}'))).toBe(
      '/props/a\\u0000b: keys may not contain NUL characters',
    );
    expect(findUnsafeKey({ text: 'values may hold \u0000' })).toBeUndefined();
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expect(findUnsafeKey(deep)).toMatch(/nesting deeper than 64/);
  });
});

describe('inspectJson', () => {
  it('answers what findUnsafeKey answers, else a bound never under the JSON size in UTF-8', () => {
    const clean: unknown[] = [
      {},
      [],
      { a: 'plain', n: -0.0000012345678901234567, big: -1.2345678901234567e-308, t: true, f: false, z: null },
      { nested: { list: [1, 'two', { three: [3] }], esc: '"\\\n\t\u0001', uni: 'é€😀', gone: undefined } },
      { keyWith: { 'é€"\n': 'x'.repeat(1000) }, arr: [undefined, () => 1, Number.NaN, Number.POSITIVE_INFINITY] },
      JSON.parse('{"p":{"a":[{"b":{"c":[1,2,3]}}],"s":"\\u0000\\u001f"}}'),
    ];
    for (const value of clean) {
      const bound = inspectJson(value);
      expect(typeof bound).toBe('number');
      expect(bound as number).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(value)));
    }
    expect(inspectJson({ when: new Date() })).toBe(Number.POSITIVE_INFINITY); // toJSON: not bounded
    const unsafe: unknown[] = [
      { a: { $where: 1 } },
      { list: [{ 'x.y': 1 }] },
      JSON.parse('{"p":{"__proto__":{"admin":true}}}'),
      { matrix: [[1, 2]] },
      JSON.parse('{"props":{"a\\u0000b":1}}'),
      { a: [{ b: { '': 1 } }] },
    ];
    for (const value of unsafe) {
      expect(inspectJson(value)).toBe(findUnsafeKey(value));
      expect(typeof findUnsafeKey(value)).toBe('string');
    }
    expect(findUnsafeKey({ a: [{ b: { '': 1 } }] })).toBe('/a/0/b/: empty keys are not allowed');
    expect(findUnsafeKey({ a: [1, { constructor: 1 }] })).toBe('/a/1/constructor: reserved key');
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expect(inspectJson(deep)).toBe(`/${Array(64).fill('d').join('/')}: nesting deeper than 64 levels`);
    // a problem found after a clean sibling names its own path, not the sibling's
    expect(findUnsafeKey({ ok: { deep: [1, 2] }, bad: { x: { $y: 1 } } })).toBe(
      "/bad/x/$y: keys may not start with '$'",
    );
    // and after primitive siblings, which are measured without a step of the path of their own
    expect(findUnsafeKey({ a: { b: { c: 1 } } })).toBeUndefined();
    expect(findUnsafeKey({ x: 1, y: 'two', z: { $w: 1 } })).toBe("/z/$w: keys may not start with '$'");
    expect(findUnsafeKey({ list: [1, 'two', null, { 'k.v': 1 }] })).toBe("/list/3/k.v: keys may not contain '.'");
  });

  it('checks every key again once it has seen thousands (the memo of safe keys is bounded) and never memoises an unsafe one', () => {
    // more distinct safe keys than are remembered, then the same walks with an unsafe key among them
    const many = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`key${i}`, i]));
    expect(typeof inspectJson(many)).toBe('number');
    for (let round = 0; round < 2; round++) {
      expect(findUnsafeKey({ ...many, nested: { fresh: { $set: 1 } } })).toBe(
        "/nested/fresh/$set: keys may not start with '$'",
      );
      expect(findUnsafeKey({ list: [{ 'a.b': 1 }] })).toBe("/list/0/a.b: keys may not contain '.'");
      expect(findUnsafeKey({ deep: { ok: 1, constructor: 1 } })).toBe('/deep/constructor: reserved key');
    }
    // a path is that of the problem, whatever longer paths were walked before it
    expect(findUnsafeKey({ a: { b: { c: { d: 1 } } }, e: { $f: 1 } })).toBe("/e/$f: keys may not start with '$'");
    expect(findUnsafeKey([{ x: [{ y: 1 }] }, { $z: 1 }])).toBe("/1/$z: keys may not start with '$'");
  });
});
