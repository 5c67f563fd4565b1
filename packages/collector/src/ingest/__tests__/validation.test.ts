import { ClientEvent } from '@trackmate/schema';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { storedIp } from '../client-ip.js';
import { checkEnvelope, correctTimestamp, validateClientEvents } from '../validate-client.js';

describe('IP modes', () => {
  it('stores full, anonymized or no IPs', () => {
    expect(storedIp('203.0.113.77', 'full')).toBe('203.0.113.77');
    expect(storedIp('::ffff:203.0.113.77', 'full')).toBe('203.0.113.77');
    expect(storedIp('203.0.113.77', 'anonymize')).toBe('203.0.113.0');
    expect(storedIp('2001:db8:85a3:8d3:1319:8a2e:370:7348', 'anonymize')).toBe('2001:db8:85a3::');
    expect(storedIp('2001:db8::1', 'anonymize')).toBe('2001:db8:0::');
    expect(storedIp('203.0.113.77', 'none')).toBeNull();
  });
});

describe('client event validation', () => {
  const ctx = { siteId: 'a'.repeat(24), receivedAt: new Date('2026-11-28T12:00:00Z'), ip: null, userAgent: null };

  it('corrects clock skew and never dates an event after it was received', () => {
    const received = new Date('2026-11-28T12:00:00Z');
    expect(correctTimestamp('2026-11-28T14:59:50Z', '2026-11-28T15:00:00Z', received).toISOString()).toBe(
      '2026-11-28T11:59:50.000Z',
    );
    expect(correctTimestamp('2026-11-28T13:00:00Z', undefined, received).toISOString()).toBe(
      '2026-11-28T12:00:00.000Z',
    );
  });

  it('extracts a profile only from form_submit with a valid e-mail and from identify', () => {
    const base = { messageId: 'm', timestamp: '2026-11-28T11:00:00Z', anonymousId: 'v' };
    const { events, rejected } = validateClientEvents(
      [
        { ...base, name: 'form_submit', properties: { formId: 'f', fields: { email: 'A@B.co', accept_terms: true } } },
        { ...base, name: 'form_submit', properties: { formId: 'f', fields: { email: 'nope' } } },
        { ...base, name: 'identify', properties: { email: 'c@d.co', consent: false } },
      ],
      ctx,
    );
    expect(rejected).toEqual([]);
    expect(events[0]!.profile).toMatchObject({ email: 'a@b.co', consent: true, consentSource: 'form' });
    expect(events[1]!.profile).toBeUndefined();
    expect(events[2]!.profile).toMatchObject({ email: 'c@d.co', consent: false, consentSource: 'identify' });
  });

  it('takes custom events named like an Object.prototype member as custom events', () => {
    const base = { messageId: 'm', timestamp: '2026-11-28T11:00:00Z', anonymousId: 'v' };
    const { events, rejected } = validateClientEvents(
      [
        { ...base, name: 'constructor', properties: { any: 1 } },
        { ...base, name: 'tostring' },
      ],
      ctx,
    );
    expect(rejected).toEqual([]);
    expect(events.map((e) => e.name)).toEqual(['constructor', 'tostring']);
  });

  it('measures an event only when its size is in doubt: over 32 KB is refused, whatever the body size said', () => {
    const base = { messageId: 'm', name: 'custom_thing', timestamp: '2026-11-28T11:00:00Z', anonymousId: 'v' };
    const big = { ...base, properties: { text: 'x'.repeat(33 * 1024) } };
    // escapes count as they are sent: 6,000 newlines are 12,000 bytes of JSON, not 6,000
    const escaped = { ...base, properties: { text: '\n'.repeat(17_000) } };
    const near = { ...base, properties: { text: 'é'.repeat(15_000) } }; // 30,000 bytes of UTF-8
    const { events, rejected } = validateClientEvents([big, escaped, near], { ...ctx, bodyBytes: 200_000 });
    expect(rejected.map((r) => r.index)).toEqual([0, 1]);
    expect(rejected[0]!.errors[0]).toMatch(/^\/: event is \d+ bytes, more than the 32768 allowed$/);
    expect(events.map((e) => e.messageId)).toEqual(['m']);
  });
});

describe('the client event envelope check', () => {
  // a seeded generator: the same cases on every run
  let seed = 25;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const oddKeys = ['', 'a', 'url', '$set', 'a.b', '\n', '__proto__', 'constructor', '0', 'é'];
  const object = (depth: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(random() * 4); i > 0; i--) o[pick(oddKeys)] = anything(depth + 1);
    return o;
  };
  const anything = (depth = 0): unknown =>
    pick([
      () => undefined,
      () => null,
      () => 0,
      () => -1.5,
      () => true,
      () => '',
      () => 'x',
      () => 'page_view',
      () => 'y'.repeat(200),
      () => '2026-11-28T11:00:00Z',
      () => '2026-02-30T11:00:00Z',
      () => '0123456789abcdef01234567',
      () => [],
      () => (depth < 3 ? [anything(depth + 1)] : []),
      () => (depth < 3 ? object(depth) : {}),
    ])();
  const valid = () => ({
    messageId: 'm-1',
    name: 'page_view',
    timestamp: '2026-11-28T11:00:00.000Z',
    anonymousId: 'v-1',
    sessionId: 's-1',
    profileId: '0123456789abcdef01234567',
    properties: { url: 'https://shop.test/', nested: { a: [1] } },
    context: { page: { url: 'https://shop.test/' }, library: { name: '@trackmate/browser', version: '0.1.0' } },
    writeKey: 'pk_x',
    sentAt: '2026-11-28T11:00:01.000Z',
  });
  const fields = Object.keys(valid());

  it("answers as TypeBox's check of ClientEvent over 20,000 valid and broken events", () => {
    const full = Compile(ClientEvent);
    const outcomes = { passed: 0, failed: 0 };
    for (let n = 0; n < 20_000; n++) {
      const event: Record<string, unknown> = valid();
      const context = event.context as Record<string, unknown>;
      for (let k = Math.floor(random() * 3); k > 0; k--) {
        const where = random();
        // a member replaced or removed, one of context's replaced, or a member that is not in the schema
        if (where < 0.5) event[pick(fields)] = anything();
        else if (where < 0.6) delete event[pick(fields)];
        else if (where < 0.85) context[pick(['page', 'library', 'extra'])] = anything();
        else event[pick(oddKeys)] = anything();
      }
      const item = random() < 0.02 ? anything() : event;
      const expected = full.Check(item);
      expect(checkEnvelope(item), JSON.stringify(item)).toBe(expected);
      outcomes[expected ? 'passed' : 'failed']++;
    }
    // both answers were given many times, or the comparison proves little
    expect(outcomes.passed).toBeGreaterThan(2_000);
    expect(outcomes.failed).toBeGreaterThan(2_000);
  });
});
