import { isUtf8 } from 'node:buffer';
import type { QueuedEvent } from '../pipeline/index.js';

/** What a platform's delivery comes to: events to store, or a reason it stores nothing (still answered 2xx). */
export type Mapped = { events: QueuedEvent[]; orderId?: string } | { ignored: string; orderId?: string };

export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
export const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);

/** Integer ids past 2^53 (Shopify's can be), kept exact as strings instead of rounded by JSON.parse. */
const BIG_ID =
  /("(?:id|order_id|product_id|variant_id|line_item_id|customer_id|user_id)"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g;

/** The verified body as a JSON object, or undefined when it is not UTF-8 JSON holding an object. */
export function parseBody(body: Buffer): Json | undefined {
  if (!isUtf8(body)) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString('utf8').replace(BIG_ID, '$1"$2"'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** An id (number or string) as a string, bounded. */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.trim() && value.length <= 256) return value.trim();
  return undefined;
}
