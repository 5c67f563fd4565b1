import { describe, expect, it } from 'vitest';
import type { Models } from '../../models/index.js';
import { KeyCache } from '../key-cache.js';
import { hashSecretKey, newSecretKey, newWriteKey } from '../keys.js';

type Filter = Record<string, unknown>;

/** Models whose Site.findOne answers from `lookup` (which may throw, as during a MongoDB outage). */
function fakeModels(lookup: (filter: Filter) => unknown) {
  let calls = 0;
  const models = {
    Site: {
      findOne: (filter: Filter, _projection?: unknown) => ({
        lean: async () => {
          calls++;
          return lookup(filter);
        },
      }),
    },
  } as unknown as Models;
  return { models, calls: () => calls };
}

const site = {
  _id: { toString: () => '65a000000000000000000001' },
  name: 'Shop',
  allowedOrigins: ['https://shop.test'],
};
/** The site as stored when the looked-up key is its current one (the first branch of the `$or`). */
const holding = (filter: Filter) => ({ ...site, ...(filter.$or as Filter[])[0] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fast = { ttlMs: 10, negativeTtlMs: 10 };

describe('KeyCache', () => {
  it('keeps serving a known write key from its expired entry while MongoDB is down (ingest needs only Redis)', async () => {
    let down = false;
    const { models } = fakeModels((filter) => {
      if (down) throw new Error('connection refused');
      return holding(filter);
    });
    const cache = new KeyCache(models, fast);
    const key = newWriteKey();
    expect((await cache.byWriteKey(key))?.id).toBe('65a000000000000000000001');
    down = true;
    await sleep(20); // expired
    expect((await cache.byWriteKey(key))?.name).toBe('Shop');
    expect((await cache.byWriteKey(key))?.allowedOrigins).toEqual(['https://shop.test']);
    // a key never seen still needs the database
    await expect(cache.byWriteKey(newWriteKey())).rejects.toThrow('connection refused');
  });

  it('serves secret keys stale while refreshing too, looked up by hash only', async () => {
    let down = false;
    const seen: Filter[] = [];
    const { models } = fakeModels((filter) => {
      seen.push(filter);
      if (down) throw new Error('connection refused');
      return holding(filter);
    });
    const cache = new KeyCache(models, fast);
    const secret = newSecretKey();
    expect((await cache.bySecretKey(secret))?.name).toBe('Shop');
    const hash = hashSecretKey(secret);
    expect(seen[0]).toEqual({
      $or: [
        { secretKeyHash: hash },
        { ingestKeyHash: hash },
        { 'statsKeys.hash': hash },
        { 'retiredKeys.value': hash },
      ],
    });
    down = true;
    await sleep(20);
    expect((await cache.bySecretKey(secret))?.name).toBe('Shop');
  });

  it('sees a revoked key after the refresh that follows expiry', async () => {
    let exists = true;
    const { models, calls } = fakeModels((filter) => (exists ? holding(filter) : null));
    const cache = new KeyCache(models, fast);
    const key = newWriteKey();
    expect(await cache.byWriteKey(key)).not.toBeNull();
    exists = false;
    await sleep(20);
    await cache.byWriteKey(key); // served stale, refreshed meanwhile
    await sleep(1);
    expect(await cache.byWriteKey(key)).toBeNull();
    expect(calls()).toBe(2);
  });

  it('accepts a key retired with an overlap until its end, and never serves it stale past it', async () => {
    const old = newWriteKey();
    let down = false;
    const until = new Date(Date.now() + 30);
    const { models } = fakeModels(() => {
      if (down) throw new Error('connection refused');
      return { ...site, writeKey: newWriteKey(), retiredKeys: [{ kind: 'write', value: old, until }] };
    });
    const cache = new KeyCache(models, { ttlMs: 60_000, negativeTtlMs: 10 });
    expect((await cache.byWriteKey(old))?.name).toBe('Shop');
    down = true; // a known key is normally served stale while MongoDB is away: not past its retirement
    await sleep(40);
    await expect(cache.byWriteKey(old)).rejects.toThrow('connection refused');
    down = false;
    expect(await cache.byWriteKey(old)).toBeNull();
  });

  it('never looks up or caches a key of the wrong shape (a 500 KB key costs nothing)', async () => {
    const { models, calls } = fakeModels(() => site);
    const cache = new KeyCache(models);
    expect(await cache.byWriteKey(`pk_${'a'.repeat(500_000)}`)).toBeNull();
    expect(await cache.byWriteKey('sk_not-a-write-key-at-all')).toBeNull();
    expect(await cache.bySecretKey('pk_0123456789abcdef0123456789abcdef0')).toBeNull();
    expect(calls()).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('stays within maxEntries, dropping expired entries first', async () => {
    const { models } = fakeModels(() => null);
    const cache = new KeyCache(models, { maxEntries: 50, negativeTtlMs: 60_000 });
    for (let i = 0; i < 200; i++) await cache.byWriteKey(newWriteKey());
    expect(cache.size).toBeLessThanOrEqual(50);
    expect(cache.size).toBeGreaterThan(40);
  });
});
