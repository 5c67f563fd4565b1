import { MAX_BATCH_EVENTS, takeBatch } from '@trackmate/core';
import type { ClientEvent } from '../types.js';

const encoder = /* @__PURE__ */ new TextEncoder();

/** UTF-8 size of a string: what the network and the keepalive budget count. */
export const bytes = (s: string): number => encoder.encode(s).length;

/** Request body of a batch (DESIGN.md section 6); sentAt lets the collector correct the client's clock. */
export const body = (writeKey: string, batch: ClientEvent[]): string =>
  JSON.stringify({ writeKey, sentAt: new Date().toISOString(), batch });

/**
 * Removes from the front of `queue` the next batch whose request body stays within `maxBytes` (and 500
 * events); one event larger than `maxBytes` goes alone rather than blocking the queue. The envelope,
 * {"writeKey":"…","sentAt":"2026-01-01T00:00:00.000Z","batch":[]}, is counted as 200 bytes.
 */
export const take = (queue: ClientEvent[], maxBytes: number): ClientEvent[] =>
  takeBatch(queue, (e) => bytes(JSON.stringify(e)), 200, maxBytes, MAX_BATCH_EVENTS);
