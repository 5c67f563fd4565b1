import { describe, expect, it } from 'vitest';
import { parsedSum, parseSum } from '../stats-blocks.js';

/** A month's sums of `n` pages as the copies in Redis hold them. */
const sums = (n: number, views: number) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => [`/p/${i}`, [i, 0, 0, views + i, 0, 0, 0]]));

describe('parsed sums kept by text', () => {
  it('gives the figures of the text it is asked, parsed once while the text is the same', () => {
    const a = sums(1_000, 3);
    const first = parsedSum(a);
    expect(first).toEqual(parseSum(a));
    // the same text read again (a new string from Redis): the same parse
    expect(parsedSum(`${a}`.slice(0))).toBe(first);
    // a visit rolled into the block changes its text: parsed again, with the new figures
    const b = sums(1_000, 4);
    const second = parsedSum(b);
    expect(second).not.toBe(first);
    expect((second.get('/p/7') as number[])[3]).toBe(11);
    expect((parsedSum(a).get('/p/7') as number[])[3]).toBe(10);
  });
});
