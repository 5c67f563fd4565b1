import { readFileSync } from 'node:fs';
import { LIMITS } from '@trackmate/schema';
import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX, backoff, retryAfter, retryable } from '../src/core/backoff.js';
import { body, bytes, take } from '../src/core/batch.js';
import {
  EVENT_NAME,
  KEEPALIVE_BUDGET,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  MAX_REQUEST_BYTES,
} from '../src/core/limits.js';
import { uuid } from '../src/core/uuid.js';
import type { ClientEvent } from '../src/types.js';
import { VERSION } from '../src/version.js';

const event = (i: number, pad = 0): ClientEvent => ({
  messageId: `m${i}`,
  name: 'e',
  timestamp: '2026-01-01T00:00:00.000Z',
  anonymousId: 'a',
  properties: { pad: 'x'.repeat(pad) },
});

describe('limits', () => {
  it('match @trackmate/schema, which the collector enforces', () => {
    expect(MAX_EVENT_BYTES).toBe(LIMITS.maxEventBytes);
    expect(MAX_REQUEST_BYTES).toBe(LIMITS.maxRequestBytes);
    expect(MAX_BATCH_EVENTS).toBe(LIMITS.maxBatchEvents);
    expect(KEEPALIVE_BUDGET).toBe(LIMITS.keepaliveBudgetBytes);
    expect(EVENT_NAME.test('order_product')).toBe(true);
    expect(EVENT_NAME.test('Order')).toBe(false);
    expect(EVENT_NAME.test(`a${'b'.repeat(64)}`)).toBe(false);
  });

  it('reports the package version as context.library.version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});

describe('uuid', () => {
  it('makes distinct RFC 4122 v4 ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, uuid));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('backoff', () => {
  it('doubles from about one second, with jitter in the upper half, capped at 30 s', () => {
    expect(backoff(1, () => 0)).toBe(500);
    expect(backoff(1, () => 1)).toBe(1000);
    expect(backoff(3, () => 0)).toBe(2000);
    expect(backoff(3, () => 1)).toBe(4000);
    expect(backoff(20, () => 1)).toBe(BACKOFF_MAX);
    expect(backoff(20, () => 0)).toBe(BACKOFF_MAX / 2);
  });

  it('reads Retry-After as seconds or as an HTTP date, and ignores garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfter('7', now)).toBe(7000);
    expect(retryAfter('0', now)).toBe(0);
    expect(retryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfter('soon', now)).toBeUndefined();
    expect(retryAfter(null, now)).toBeUndefined();
    expect(retryAfter('', now)).toBeUndefined();
  });

  it('retries timeouts, rate limits and server errors only', () => {
    expect([408, 429, 500, 502, 503].every(retryable)).toBe(true);
    expect([200, 202, 400, 401, 403, 404, 413, 415].some(retryable)).toBe(false);
  });
});

describe('batch splitting', () => {
  it('takes events from the front while the request body stays within the byte limit', () => {
    const queue = Array.from({ length: 10 }, (_, i) => event(i, 1000));
    const first = take(queue, 4000, 500);
    expect(first.map((e) => e.messageId)).toEqual(['m0', 'm1', 'm2']);
    expect(bytes(body('pk_x', first))).toBeLessThanOrEqual(4000);
    expect(queue).toHaveLength(7);
    expect(queue[0]!.messageId).toBe('m3');
  });

  it('takes at most maxEvents', () => {
    const queue = Array.from({ length: 1200 }, (_, i) => event(i));
    expect(take(queue, MAX_REQUEST_BYTES, MAX_BATCH_EVENTS)).toHaveLength(500);
    expect(take(queue, MAX_REQUEST_BYTES, MAX_BATCH_EVENTS)).toHaveLength(500);
    expect(take(queue, MAX_REQUEST_BYTES, MAX_BATCH_EVENTS)).toHaveLength(200);
  });

  it('sends one oversized event alone instead of blocking the queue', () => {
    const queue = [event(0, 5000), event(1)];
    expect(take(queue, 1000, 500).map((e) => e.messageId)).toEqual(['m0']);
    expect(take(queue, 1000, 500).map((e) => e.messageId)).toEqual(['m1']);
  });

  it('counts UTF-8 bytes, not UTF-16 code units', () => {
    expect(bytes('é€😀')).toBe(2 + 3 + 4);
    const queue = Array.from({ length: 10 }, (_, i) => ({ ...event(i), properties: { s: '€'.repeat(300) } }));
    const batch = take(queue, 3000, 500);
    expect(bytes(body('pk_x', batch))).toBeLessThanOrEqual(3000);
    // …and it is the longest such run: one more event would not fit.
    expect(bytes(body('pk_x', [...batch, queue[0]!]))).toBeGreaterThan(3000);
  });
});
