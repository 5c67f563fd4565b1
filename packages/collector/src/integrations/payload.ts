import { isUtf8 } from 'node:buffer';
import { LIMITS } from '@trackmate/schema';
import type { QueuedEvent } from '../pipeline/index.js';

/** What a platform's delivery comes to: events to store, or a reason it stores nothing (still answered 2xx). */
export type Mapped = { events: QueuedEvent[]; orderId?: string } | { ignored: string; orderId?: string };

export type Json = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export const isJsonObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export const obj = (v: unknown): Json => (isJsonObject(v) ? v : {});
export const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);

/** Integer ids past 2^53 (Shopify's can be), kept exact as strings instead of rounded by JSON.parse. */
const BIG_ID =
  /("(?:id|order_id|product_id|variant_id|line_item_id|customer_id|user_id)"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g;

/** The verified body as a JSON object, or undefined when it is not UTF-8 JSON holding an object. */
export function parseBody(body: Buffer): Json | undefined {
  if (!isUtf8(body)) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString('utf8').replace(BIG_ID, '$1"$2"'));
    return isJsonObject(value) ? value : undefined;
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

/** The attribute that carries the visitor id through a checkout (documented per platform in docs/integrations.md). */
const ANONYMOUS_ID_KEYS = ['trackmate_anonymous_id', '_trackmate_anonymous_id'];

/** A visitor id as the browser SDK makes them: printable, at most 128 characters. */
export function anonymousIdOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = value.trim();
  return id && id.length <= LIMITS.maxIdLength && /^[\x21-\x7e]+$/.test(id) ? id : undefined;
}

/** The visitor id in a list of name-value attributes (Shopify's note attributes, WooCommerce's meta data). */
export function anonymousIdIn(attributes: Json[], nameKey: 'name' | 'key'): string | undefined {
  return anonymousIdOf(attributes.find((a) => ANONYMOUS_ID_KEYS.includes(String(a[nameKey])))?.value);
}

/** A money amount the platforms send as a string ("19.99") or a number; anything else is 0. */
export function money(value: unknown): number {
  const n = typeof value === 'string' ? Number(value.trim() || 'NaN') : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : 0;
}

/** A string field, trimmed and bounded; undefined when empty or not a string. */
export function text(value: unknown, max = 512): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const s = value.trim().slice(0, max);
  return s || undefined;
}

const CURRENCY = /^[A-Z]{3}$/;
export const currencyCode = (value: unknown): string | undefined => {
  const c = typeof value === 'string' ? value.trim().toUpperCase() : '';
  return CURRENCY.test(c) ? c : undefined;
};
