import { describe, expect, it } from 'vitest';
import { sourceKey } from '../enrich.js';
import { sourceOf } from '../source.js';

/** Enrichment memoises sources by sourceKey: landings with one key must have one source. */
describe('the key a landing source is memoised by', () => {
  const urls = [
    'https://shop.test/a',
    'https://shop.test/b/c?utm_source=google&utm_medium=cpc',
    'https://shop.test/other?utm_source=google&utm_medium=cpc',
    'https://shop.test/x?utm_source=google&utm_medium=cpc#frag?utm_source=bing',
    'https://www.shop.test/a',
    'HTTPS://Shop.Test/a?gclid=1',
    'https://shop.test\\p?gclid=1',
    'https://user@shop.test:8443/a?fbclid=2',
    'ftp://shop.test/a',
    'not a url',
    'not a url?utm_source=x',
    undefined,
  ];
  const referrers = [
    '',
    'https://www.google.com/search?q=1',
    'https://www.google.com/other',
    'https://shop.test/from-the-site',
    'https://t.co/x',
    'android-app://com.google.android.gm/',
    'javascript:alert(1)',
    'weird',
    undefined,
    42,
  ];

  it('gives landings of one key one source, and landings of different sources different keys', () => {
    const byKey = new Map<string, unknown>();
    for (const url of urls)
      for (const referrer of referrers) {
        const key = sourceKey(url, referrer);
        const source = sourceOf(url, referrer);
        if (byKey.has(key)) expect(source, `${url} from ${String(referrer)}`).toEqual(byKey.get(key));
        else byKey.set(key, source);
      }
    // paths are left out of the key (the memo's point); hosts, queries and referrer hosts are not
    expect(sourceKey('https://shop.test/a', '')).toBe(sourceKey('https://shop.test/b', ''));
    expect(sourceKey('https://shop.test/a?gclid=1', '')).not.toBe(sourceKey('https://shop.test/a', ''));
    expect(sourceKey('https://shop.test/a', 'https://t.co/x')).not.toBe(sourceKey('https://shop.test/a', ''));
    expect(new Set([...byKey.values()].map((s) => JSON.stringify(s))).size).toBeGreaterThan(10);
  });
});
