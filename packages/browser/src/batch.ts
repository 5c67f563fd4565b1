import type { ClientEvent } from '../types.js';

const encoder = /* @__PURE__ */ new TextEncoder();

/** UTF-8 size of a string: what the network and the keepalive budget count. */
export const bytes = (s: string): number => encoder.encode(s).length;

/** Request body of a batch (DESIGN.md section 6); sentAt lets the collector correct the client's clock. */
export const body = (writeKey: string, batch: ClientEvent[]): string =>
  JSON.stringify({ writeKey, sentAt: new Date().toISOString(), batch });

/**
 * Removes from the front of `queue` the longest run of events whose request body stays within `maxBytes`
 * and `maxEvents`, and returns it. Always takes at least one event, so one event larger than `maxBytes` is
 * sent on its own rather than blocking the queue (events above the 32 KB wire limit never get this far).
 */
export const take = (queue: ClientEvent[], maxBytes: number, maxEvents: number): ClientEvent[] => {
  // Envelope: {"writeKey":"…","sentAt":"2026-01-01T00:00:00.000Z","batch":[]} is under 200 bytes.
  let size = 200;
  let n = 0;
  while (n < queue.length && n < maxEvents) {
    size += bytes(JSON.stringify(queue[n])) + 1;
    if (n && size > maxBytes) break;
    n++;
  }
  return queue.splice(0, n);
};
