import { describe, expect, it } from 'vitest';
import { SiteCache } from '../key-cache.js';
import type { Models } from '../../models/index.js';

/** Models whose Site.findOne answers from `lookup` (which may throw, as during a MongoDB outage). */
function fakeModels(lookup: (writeKey: string) => unknown) {
  let calls = 0;
  const models = {
    Site: {
      findOne: (filter: { writeKey: string }) => ({
        lean: async () => {
          calls++;
          return lookup(filter.writeKey);
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SiteCache', () => {
  it('keeps serving a known write key from its expired entry while MongoDB is down (ingest needs only Redis)', async () => {
    let down = false;
    const { models } = fakeModels(() => {
      if (down) throw new Error('connection refused');
      return site;
    });
    const cache = new SiteCache(models, 10, 10);
    expect((await cache.byKey('pk_1'))?.id).toBe('65a000000000000000000001');
    down = true;
    await sleep(20); // expired
    expect((await cache.byKey('pk_1'))?.name).toBe('Shop');
    expect((await cache.byKey('pk_1'))?.allowedOrigins).toEqual(['https://shop.test']);
    // a key never seen still needs the database
    await expect(cache.byKey('pk_unknown')).rejects.toThrow('connection refused');
  });

  it('sees a revoked key after the refresh that follows expiry', async () => {
    let exists = true;
    const { models, calls } = fakeModels(() => (exists ? site : null));
    const cache = new SiteCache(models, 10, 10);
    expect(await cache.byKey('pk_1')).not.toBeNull();
    exists = false;
    await sleep(20);
    await cache.byKey('pk_1'); // served stale, refreshed meanwhile
    await sleep(1);
    expect(await cache.byKey('pk_1')).toBeNull();
    expect(calls()).toBe(2);
  });
});
