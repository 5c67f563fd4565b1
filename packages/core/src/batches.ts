/**
 * Removes from the front of `queue` the longest run of items that fits one request, and returns it in order:
 * at most `maxEvents` items, and at most `maxBytes` for the body, counted as `envelope` (the bytes around
 * the items) plus each item's `size` plus one comma between items.
 *
 * Always takes at least one item, so an item larger than `maxBytes` goes out alone instead of blocking the
 * queue (the SDKs drop events over MAX_EVENT_BYTES before they are queued).
 */
export const takeBatch = <T>(
  queue: T[],
  size: (item: T) => number,
  envelope: number,
  maxBytes: number,
  maxEvents: number,
): T[] => {
  let n = 0;
  // `envelope` counts the body so far, one below at first: the first item has no comma before it.
  for (envelope--; n < queue.length && n < maxEvents; n++) {
    envelope += size(queue[n]!) + 1;
    if (n && envelope > maxBytes) break;
  }
  return queue.splice(0, n);
};
