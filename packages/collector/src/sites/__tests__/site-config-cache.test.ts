import { describe, expect, it } from 'vitest';
import { SiteConfigCache } from '../site-config-cache.js';

/** A Redis with MGET over a map (or down), and a loader that counts its calls. */
function setup() {
  const versions = new Map<string, string>();
  let down = false;
  const redis = {
    mget: async (keys: string[]) => {
      if (down) throw new Error('connection refused');
      return keys.map((k) => versions.get(k) ?? null);
    },
  };
  const loads: string[][] = [];
  const data = new Map<string, string[]>([
    ['a', ['trigger-1']],
    ['b', []],
  ]);
  const cache = new SiteConfigCache(redis, 'p', async (ids) => {
    loads.push(ids);
    return new Map(ids.map((id) => [id, [...(data.get(id) ?? [])]]));
  });
  return { cache, versions, loads, data, setDown: (v: boolean) => (down = v) };
}

describe('SiteConfigCache', () => {
  it('reads the database once per site until the site’s version changes', async () => {
    const { cache, versions, loads, data } = setup();
    expect((await cache.get(['a', 'b'])).get('a')).toEqual(['trigger-1']);
    expect((await cache.get(['a', 'b'])).get('b')).toEqual([]);
    expect(loads).toEqual([['a', 'b']]);
    // the API changes site a's triggers and bumps its version: only a is read again
    data.set('a', ['trigger-1', 'trigger-2']);
    versions.set('p:site-config:a', '1');
    expect((await cache.get(['a', 'b'])).get('a')).toEqual(['trigger-1', 'trigger-2']);
    expect(loads).toEqual([['a', 'b'], ['a']]);
  });

  it('reads the database when Redis does not answer', async () => {
    const { cache, loads, setDown } = setup();
    await cache.get(['a']);
    setDown(true);
    await cache.get(['a']);
    expect(loads).toEqual([['a'], ['a']]);
  });
});
