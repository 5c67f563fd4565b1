import { MAX_BATCH_EVENTS, takeBatch } from '@trackmate/core';

const encoder = /* @__PURE__ */ new TextEncoder();

/** UTF-8 size of a string: what the network and the keepalive budget count. */
export const bytes = (s: string): number => encoder.encode(s).length;

/**
 * Request body of a batch of serialised events (docs/api.md, Tracking), assembled without parsing them again;
 * sentAt lets the collector correct the client's clock. The write key travels in the URL's query.
 */
export const body = (batch: string[]): string => `{"sentAt":"${new Date().toISOString()}","batch":[${batch}]}`;

/**
 * Removes from the front of `queue` the next batch whose request body stays within `maxBytes` (and 500
 * events): @trackmate/core's takeBatch, the envelope {"sentAt":"2026-01-01T00:00:00.000Z","batch":[]}
 * counted as 200 bytes.
 */
export const take = (queue: string[], maxBytes: number): string[] =>
  takeBatch(queue, bytes, 200, maxBytes, MAX_BATCH_EVENTS);
