import { describe, expect, it } from 'vitest';
import { openGeo } from '../../analytics/index.js';
import { cachedGeo } from '../geo-cache.js';

/** A deterministic stream of addresses: many repeats, IPv4, IPv6, mapped IPv4, private ranges, garbage. */
function addresses(n: number): Array<string | undefined> {
  let seed = 42;
  // mulberry32: every bit of it varies (an LCG's low bits cycle within a few draws)
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const out: Array<string | undefined> = [];
  for (let i = 0; i < n; i++) {
    const r = next();
    const octets = () => [next() % 256, next() % 256, next() % 256, next() % 256].join('.');
    switch (r % 8) {
      case 0:
        out.push(out[next() % Math.max(1, out.length)]); // an address seen before
        break;
      case 1:
        out.push(
          `2001:${(next() % 0xffff).toString(16)}:${(next() % 0xffff).toString(16)}::${(next() % 0xffff).toString(16)}`,
        );
        break;
      case 2:
        out.push(`::ffff:${octets()}`);
        break;
      case 3:
        out.push(['127.0.0.1', '10.1.2.3', '192.168.0.1', '::1', 'not an ip', '', undefined][next() % 7]);
        break;
      default:
        out.push(`${1 + (next() % 223)}.${next() % 256}.${next() % 256}.${next() % 256}`);
    }
  }
  return out;
}

describe('geo lookups cached per client address', () => {
  const geo = openGeo();
  const uncached = (ip: string | undefined) => geo.lookup(ip);

  it('answers exactly as the database does, over 50,000 addresses, with and without evictions', () => {
    const list = addresses(50_000);
    for (const size of [10_000, 64]) {
      const cached = cachedGeo(uncached, size);
      let placed = 0;
      for (const ip of list) {
        const expected = uncached(ip);
        expect(cached(ip)).toEqual(expected);
        if (expected) placed++;
      }
      expect(placed).toBeGreaterThan(10_000); // most public addresses have a country: the comparison is not all nulls
    }
  });

  it('looks an address up once while it is remembered, and again once it is pushed out', () => {
    const asked: Array<string | undefined> = [];
    const cached = cachedGeo((ip) => {
      asked.push(ip);
      return geo.lookup(ip);
    }, 2);
    cached('8.8.8.8');
    cached('8.8.8.8');
    cached('10.0.0.1'); // no place: remembered too
    cached('10.0.0.1');
    expect(asked).toEqual(['8.8.8.8', '10.0.0.1']);
    cached('81.2.69.142'); // the oldest (8.8.8.8) goes
    cached('8.8.8.8');
    expect(asked).toEqual(['8.8.8.8', '10.0.0.1', '81.2.69.142', '8.8.8.8']);
  });

  it('shares a frozen answer, so no request can change another one', () => {
    const cached = cachedGeo(uncached);
    const first = cached('8.8.8.8');
    expect(first).toEqual({ country: 'US', region: null });
    expect(Object.isFrozen(first)).toBe(true);
    expect(cached('8.8.8.8')).toBe(first);
  });
});
