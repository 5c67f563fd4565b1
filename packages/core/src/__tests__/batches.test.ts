import { describe, expect, it } from 'vitest';
import { takeBatch } from '../batches.js';
import { MAX_BATCH_EVENTS, MAX_REQUEST_BYTES } from '../limits.js';

/** Items are their own size in bytes; the body is `[` + items joined by `,` + `]` (envelope 2). */
const sized = (...sizes: number[]) => sizes.map((bytes, i) => ({ i, bytes }));
const size = (item: { bytes: number }) => item.bytes;
const bodyBytes = (batch: { bytes: number }[]) => 2 + batch.reduce((sum, e) => sum + e.bytes, 0) + batch.length - 1;
const take = (queue: { i: number; bytes: number }[], maxBytes: number, maxEvents = MAX_BATCH_EVENTS) =>
  takeBatch(queue, size, 2, maxBytes, maxEvents).map((e) => e.i);

describe('takeBatch', () => {
  it('takes the longest run from the front whose body fits the byte limit, envelope and commas included', () => {
    // 2 + 10 + 1 + 10 + 1 + 10 = 34 bytes
    expect(take(sized(10, 10, 10, 10), 34)).toEqual([0, 1, 2]);
    expect(take(sized(10, 10, 10, 10), 33)).toEqual([0, 1]);
  });

  it('takes at most maxEvents', () => {
    const queue = sized(...Array<number>(1200).fill(10));
    expect(takeBatch(queue, size, 2, MAX_REQUEST_BYTES, MAX_BATCH_EVENTS)).toHaveLength(500);
    expect(takeBatch(queue, size, 2, MAX_REQUEST_BYTES, MAX_BATCH_EVENTS)).toHaveLength(500);
    expect(takeBatch(queue, size, 2, MAX_REQUEST_BYTES, MAX_BATCH_EVENTS)).toHaveLength(200);
    expect(queue).toEqual([]);
  });

  it('splits a queue into requests that each fit, keeping every item once and in order', () => {
    const queue = sized(...Array.from({ length: 300 }, (_, i) => 1 + ((i * 7919) % 997)));
    const all = [...queue];
    const batches: (typeof queue)[] = [];
    while (queue.length) batches.push(takeBatch(queue, size, 2, 4096, 20));
    expect(batches.flat()).toEqual(all);
    for (const batch of batches) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(20);
      expect(bodyBytes(batch)).toBeLessThanOrEqual(4096);
    }
    // Each request is as full as it can be: the next item would not have fitted.
    for (let b = 0; b < batches.length - 1; b++) {
      const next = batches[b + 1]![0]!;
      const full = batches[b]!.length === 20 || bodyBytes([...batches[b]!, next]) > 4096;
      expect(full).toBe(true);
    }
  });

  it('sends an item larger than the byte limit on its own instead of blocking the queue', () => {
    const queue = sized(5000, 10, 10);
    expect(take(queue, 1000)).toEqual([0]);
    expect(take(queue, 1000)).toEqual([1, 2]);
    expect(take(sized(10, 5000, 10), 1000)).toEqual([0]);
  });

  it('takes nothing from an empty queue', () => {
    const queue: { bytes: number }[] = [];
    expect(takeBatch(queue, size, 2, 100, 10)).toEqual([]);
  });
});
