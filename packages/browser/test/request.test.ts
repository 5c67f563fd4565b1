import { readFileSync } from 'node:fs';
import { MAX_REQUEST_BYTES } from '@trackmate/core';
import { describe, expect, it } from 'vitest';
import type { ClientEvent } from '../src/types.js';
import { body, bytes, take } from '../src/util/request-body.js';
import { uuid } from '../src/util/uuid.js';
import { VERSION } from '../src/version.js';

const event = (i: number, pad = 0, properties: Record<string, unknown> = { pad: 'x'.repeat(pad) }): string =>
  JSON.stringify({
    timestamp: '2026-01-01T00:00:00.000Z',
    messageId: `m${i}`,
    name: 'e',
    anonymousId: 'a',
    properties,
  } satisfies ClientEvent);
const id = (s: string) => (JSON.parse(s) as ClientEvent).messageId;

describe('version', () => {
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

// The queue holds serialised events; batches are cut from it by the UTF-8 size of the request body.
describe('batch splitting', () => {
  it('takes events from the front while the request body, envelope included, stays within the byte limit', () => {
    const queue = Array.from({ length: 10 }, (_, i) => event(i, 1000));
    const first = take(queue, 4000);
    expect(first.map(id)).toEqual(['m0', 'm1', 'm2']);
    expect(bytes(body(first))).toBeLessThanOrEqual(4000);
    expect(queue).toHaveLength(7);
    expect(id(queue[0]!)).toBe('m3');
  });

  it('takes at most 500 events per request', () => {
    const queue = Array.from({ length: 1200 }, (_, i) => event(i));
    expect(take(queue, MAX_REQUEST_BYTES)).toHaveLength(500);
    expect(take(queue, MAX_REQUEST_BYTES)).toHaveLength(500);
    expect(take(queue, MAX_REQUEST_BYTES)).toHaveLength(200);
  });

  it('sends one oversized event alone instead of blocking the queue', () => {
    const queue = [event(0, 5000), event(1)];
    expect(take(queue, 1000).map(id)).toEqual(['m0']);
    expect(take(queue, 1000).map(id)).toEqual(['m1']);
  });

  it('counts UTF-8 bytes, not UTF-16 code units', () => {
    expect(bytes('é€😀')).toBe(2 + 3 + 4);
    const queue = Array.from({ length: 10 }, (_, i) => event(i, 0, { s: '€'.repeat(300) }));
    const batch = take(queue, 3000);
    expect(bytes(body(batch))).toBeLessThanOrEqual(3000);
    // …and it is the longest such run: one more event would not fit.
    expect(bytes(body([...batch, queue[0]!]))).toBeGreaterThan(3000);
  });

  it('assembles the request body from the serialised events, parseable as the collector expects', () => {
    const parsed = JSON.parse(body([event(0), event(1)]));
    expect(parsed.batch.map((e: ClientEvent) => e.messageId)).toEqual(['m0', 'm1']);
    expect(Date.parse(parsed.sentAt)).toBeGreaterThan(0);
  });
});
