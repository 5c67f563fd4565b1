import { takeBatch } from '@trackmate/core';
import type { ServerEvent } from './types.js';

/** One queued event, serialized once when it is queued. */
export interface QueuedEvent {
  /** Position in the order events were queued; flush() waits up to a position. */
  seq: number;
  json: string;
  bytes: number;
}

/** Bytes of `{"batch":[` + `]}`. */
const ENVELOPE_BYTES = 12;

/** Wraps serialized events in the collector's batch body; also returns its size in bytes. */
export function batchBody(events: readonly QueuedEvent[]): { body: string; bytes: number } {
  let bytes = ENVELOPE_BYTES + Math.max(0, events.length - 1);
  for (const e of events) bytes += e.bytes;
  return { body: `{"batch":[${events.map((e) => e.json).join(',')}]}`, bytes };
}

const sizeOf = (item: QueuedEvent): number => item.bytes;

const NON_ASCII = /[\u0080-\uffff]/;

/** UTF-8 length of a string without a runtime-specific API (Buffer, TextEncoder allocations). */
export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** FIFO of serialized events, bounded by the caller. */
export class BatchQueue {
  #items: QueuedEvent[] = [];

  get length(): number {
    return this.#items.length;
  }

  /** seq of the oldest queued event, or Infinity when empty. */
  get headSeq(): number {
    return this.#items[0]?.seq ?? Number.POSITIVE_INFINITY;
  }

  push(item: QueuedEvent): void {
    this.#items.push(item);
  }

  /** Removes the oldest events that fit in one request: at most `maxEvents` and `maxBytes` of body. */
  take(maxEvents: number, maxBytes: number): QueuedEvent[] {
    return takeBatch(this.#items, sizeOf, ENVELOPE_BYTES, maxBytes, maxEvents);
  }

  /** Removes and returns everything. */
  clear(): QueuedEvent[] {
    return this.#items.splice(0);
  }
}

/** Queued events keep only their JSON (half the memory, and what would have been sent); drops parse it back. */
export function eventsOf(batch: readonly QueuedEvent[]): ServerEvent[] {
  return batch.map((q) => JSON.parse(q.json) as ServerEvent);
}
