import { gzipSync } from 'node:zlib';

/** One generated malformed request: what it is, its headers and its raw body. */
export interface BadRequest {
  kind: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Query string, e.g. `?writeKey=…`. */
  query?: string;
}

/** A small seeded PRNG (mulberry32), so a failing case can be generated again. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * At least `total` malformed requests, each of which must be answered 4xx with nothing stored: truncated JSON,
 * wrong types, huge strings, deep nesting, operator / dotted / `__proto__` keys, invalid UTF-8, wrong content
 * types, missing keys, oversize bodies. Every event in them has a messageId starting `bad-`.
 */
export function malformedRequests(writeKey: string, total: number, seed = 42): BadRequest[] {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  let n = 0;
  const event = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    messageId: `bad-${n++}`,
    name: 'page_view',
    timestamp: new Date().toISOString(),
    anonymousId: `anon-${n}`,
    sessionId: 'sess-1',
    properties: { url: 'https://shop.test/', referrer: '', title: 'Home' },
    ...over,
  });
  const json = (value: unknown, headers: Record<string, string> = JSON_TYPE): Omit<BadRequest, 'kind'> => ({
    headers,
    body: Buffer.from(JSON.stringify(value)),
  });
  const single = (over: Record<string, unknown>) => json({ ...event(over), writeKey });
  const batch = (items: unknown[], extra: Record<string, unknown> = {}) => json({ writeKey, batch: items, ...extra });
  const nested = (depth: number, leaf: unknown = 1): unknown => {
    let v: unknown = leaf;
    for (let i = 0; i < depth; i++) v = random() < 0.5 ? { k: v } : [v];
    return v;
  };
  /** `value` placed at a random depth (0-5) inside `properties` or `context.page`. */
  const buried = (key: string, value: unknown): Record<string, unknown> => {
    let obj: Record<string, unknown> = { [key]: value };
    for (let d = int(0, 5); d > 0; d--) obj = { [`lvl${d}`]: obj };
    return random() < 0.7 ? { properties: { url: 'u', referrer: '', title: 't', ...obj } } : { context: { page: obj } };
  };

  const generators: Record<string, () => Omit<BadRequest, 'kind'>> = {
    'truncated JSON': () => {
      const text = JSON.stringify(random() < 0.5 ? { ...event(), writeKey } : { writeKey, batch: [event(), event()] });
      return { headers: JSON_TYPE, body: Buffer.from(text.slice(0, int(1, text.length - 1))) };
    },
    'wrong types': () => {
      const wrong = pick([
        { messageId: pick([123, true, null, [], {}, ''] as unknown[]) },
        { name: pick([42, false, null, '', 'Page View', '1abc', 'a'.repeat(65), ['page_view']] as unknown[]) },
        { timestamp: pick([1_700_000_000_000, 'yesterday', true, null, '2024-13-45T99:00:00Z'] as unknown[]) },
        { anonymousId: pick([7, {}, [], null, ''] as unknown[]) },
        { properties: pick(['a string', 12, true, [1, 2]] as unknown[]) },
        { profileId: pick(['not-hex', 123, 'abcdef'] as unknown[]) },
        { context: pick(['ctx', 5, [1]] as unknown[]) },
        { name: 'add_to_cart', properties: { productId: 'p1', quantity: pick([-1, 0, '2', null]), price: 5 } },
        { name: 'deep_scroll', properties: { percentage: pick([101, -5, '50', null]) } },
        { name: 'order_product', properties: { orderId: 'o1', items: pick([[], 'none', [{ productId: 1 }]]) } },
        { name: 'identify', properties: { email: pick(['not-an-email', 5, '']) } },
        { name: 'page_view', properties: { url: pick([5, null, {}]), referrer: '', title: 't' } },
      ] as Record<string, unknown>[]);
      const r = random();
      if (r < 0.6) return single(wrong);
      if (r < 0.8) return batch([event(wrong), event(wrong)]);
      return pick([
        json({ writeKey, batch: pick([{}, 'events', 12, null, true]) }),
        batch(pick([[1, 2, 3], ['a', 'b'], [null], [[event()]], [true]])),
        batch([], {}),
        batch([event(wrong)], { sentAt: pick([5, 'later', {}]) }),
        batch([event(wrong)], { extra: pick([1, 'x']) }),
      ]);
    },
    'huge strings': () => {
      const big = (size: number) => 'x'.repeat(size);
      return pick([
        () => single({ properties: { url: 'u', referrer: '', title: 't', blob: big(int(33_000, 200_000)) } }),
        () => single({ name: big(int(65, 100_000)) }),
        () => single({ messageId: big(int(129, 50_000)) }),
        () => single({ anonymousId: big(int(129, 50_000)) }),
        () => single({ properties: { url: big(int(2049, 30_000)), referrer: '', title: 't' } }),
        () => single({ context: { page: { path: big(int(33_000, 100_000)) } } }),
        () => batch([event({ properties: { a: big(40_000) } }), event({ properties: { b: big(40_000) } })]),
        () => json({ writeKey: big(int(129, 10_000)), batch: [event()] }),
      ])();
    },
    'deep nesting': () => {
      const r = random();
      if (r < 0.6) return single(buried('deep', nested(int(65, 3_000))));
      if (r < 0.8) return batch([event(buried('deep', nested(int(65, 500))))]);
      // far deeper than any parser recursion limit, still under 512 KB
      const depth = int(20_000, 120_000);
      const open = random() < 0.5 ? '[' : '{"a":';
      const close = open === '[' ? ']' : '}';
      const text = `{"writeKey":"${writeKey}","messageId":"bad-${n++}","name":"x","timestamp":"${new Date().toISOString()}","anonymousId":"a","properties":{"p":${open.repeat(depth)}1${close.repeat(depth)}}}`;
      return { headers: JSON_TYPE, body: Buffer.from(text) };
    },
    'operator and __proto__ keys': () => {
      const key = pick(['$gt', '$where', '$set', 'a.b', 'user.email', '.', '$', '__proto__']);
      const value = pick([1, 'x', { $ne: null }, { isAdmin: true }, [1]] as unknown[]);
      const r = random();
      let text: string;
      if (r < 0.7) text = JSON.stringify({ ...event(buried('PLACEHOLDER', value)), writeKey });
      else if (r < 0.85) text = JSON.stringify({ ...event(), PLACEHOLDER: value, writeKey });
      else
        text = JSON.stringify({
          writeKey,
          batch: [event(buried('PLACEHOLDER', value)), event(buried('PLACEHOLDER', value))],
        });
      // written into the text, since a JavaScript object literal cannot hold an own `__proto__` key
      return { headers: JSON_TYPE, body: Buffer.from(text.replaceAll('"PLACEHOLDER"', JSON.stringify(key))) };
    },
    'invalid UTF-8': () => {
      const bad = pick([
        [0xff],
        [0xfe, 0xff],
        [0xc3, 0x28],
        [0xe2, 0x82],
        [0xf0, 0x28, 0x8c, 0xbc],
        [0xed, 0xa0, 0x80],
        [0xc0, 0xaf],
      ]);
      const text = JSON.stringify({ ...event({ properties: { url: 'u', referrer: '', title: 'TITLE' } }), writeKey });
      const [before, after] = random() < 0.5 ? text.split('TITLE') : [text.slice(0, 1), text.slice(1)];
      return {
        headers: pick([JSON_TYPE, { 'content-type': 'text/plain' }]),
        body: Buffer.concat([Buffer.from(before!), Buffer.from(bad), Buffer.from(after!)]),
      };
    },
    'wrong content types': () => {
      const type = pick([
        'text/html',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'image/png',
        'application/octet-stream',
        'application/jsonp',
        'text/csv',
        'NONE',
      ]);
      const body = Buffer.from(JSON.stringify({ ...event(), writeKey }));
      return { headers: type === 'NONE' ? {} : { 'content-type': type }, body };
    },
    'missing keys': () => {
      const e = { ...event(), writeKey } as Record<string, unknown>;
      const r = random();
      if (r < 0.6) delete e[pick(['messageId', 'name', 'timestamp', 'anonymousId'])];
      else if (r < 0.8)
        delete e.writeKey; // no key anywhere: 401
      else return json({ ...event(), writeKey: `pk_unknown${int(0, 1e6)}` }); // unknown key: 401
      return json(e);
    },
    'oversize bodies': () => {
      const r = random();
      if (r < 0.4) {
        const items = Array.from({ length: 30 }, () => event({ properties: { pad: 'y'.repeat(20_000) } }));
        return batch(items); // > 512 KB
      }
      if (r < 0.7) return batch(Array.from({ length: int(501, 800) }, () => event())); // > 500 events
      if (r < 0.85) {
        // a small gzip body that inflates past 512 KB
        const text = JSON.stringify({ writeKey, batch: [event({ properties: { pad: ' '.repeat(600_000) } })] });
        return { headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: gzipSync(text) };
      }
      return pick([
        {
          headers: { ...JSON_TYPE, 'content-encoding': 'br' },
          body: Buffer.from(JSON.stringify({ ...event(), writeKey })),
        },
        { headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: Buffer.from('not gzip at all') },
      ]);
    },
    'not an event': () => {
      const text = pick([
        '',
        ' ',
        'null',
        '[]',
        '"text"',
        '123',
        'true',
        '[{}]',
        '{}',
        '{"batch":[]}',
        `{"writeKey":"${writeKey}"}`,
      ]);
      return { headers: pick([JSON_TYPE, { 'content-type': 'text/plain' }]), body: Buffer.from(text) };
    },
  };

  const kinds = Object.keys(generators);
  const out: BadRequest[] = [];
  for (let i = 0; out.length < total; i++) {
    const kind = kinds[i % kinds.length]!;
    out.push({ kind, ...generators[kind]!() });
  }
  return out;
}
