import { describe, expect, it } from 'vitest';
import { segmentKeyOf } from '../segment-key.js';
import { mapSegmentMessages } from '../segment-message.js';

const receivedAt = new Date('2026-12-01T12:00:00.000Z');
const ctx = { siteId: 'site-1', receivedAt, ip: '203.0.113.0', userAgent: 'analytics-node-next/latest' };
const map = (items: unknown[], type?: 'track' | 'identify' | 'page' | 'alias', extra = {}) =>
  mapSegmentMessages(items, type, { ...ctx, ...extra });

describe('Segment messages', () => {
  it('takes page fields from context.page when the properties lack them', () => {
    const { events } = map(
      [
        {
          anonymousId: 'a',
          messageId: 'm1',
          name: 'Home',
          properties: { path: '/' },
          context: { page: { url: 'https://shop.test/', referrer: 'https://ref.test/', title: 'Shop' } },
        },
      ],
      'page',
    );
    expect(events[0]).toMatchObject({
      name: 'page_view',
      properties: { path: '/', url: 'https://shop.test/', referrer: 'https://ref.test/', title: 'Shop', name: 'Home' },
    });
  });

  it('corrects the sender clock with sentAt, and dates a message without time by its arrival', () => {
    const { events } = map(
      [
        { type: 'track', event: 'A', anonymousId: 'a', messageId: 'm1', timestamp: '2026-12-01T11:59:50.000Z' },
        { type: 'track', event: 'B', anonymousId: 'a', messageId: 'm2' },
      ],
      undefined,
      { sentAt: '2026-12-01T12:00:00.000Z' },
    );
    expect(events.map((e) => e.timestamp)).toEqual(['2026-12-01T11:59:50.000Z', receivedAt.toISOString()]);
  });

  it('accepts numeric user ids as strings and keeps them in context.userId and the profile', () => {
    const { events } = map([{ userId: 42, event: 'Signed Up', messageId: 'm1' }], 'track');
    expect(events[0]!.context).toMatchObject({ userId: '42' });
    expect(events[0]!.profile).toMatchObject({ userId: '42' });
    expect(events[0]!.anonymousId).toBeNull();
  });

  it("never stores the sender's context.ip (the request's address is kept per TRACKMATE_IP_MODE)", () => {
    const { events } = map(
      [{ userId: 'u', event: 'X', messageId: 'm1', context: { ip: '198.51.100.7', locale: 'de' } }],
      'track',
    );
    expect(events[0]!.context).toEqual({ locale: 'de', userId: 'u' });
    expect(events[0]!.ip).toBe('203.0.113.0');
  });

  it('refuses names with control characters, unknown types and messages naming nobody', () => {
    const { events, rejected } = map([
      { type: 'track', event: 'Bad\nName', anonymousId: 'a' },
      { type: 'screen', name: 'Home', anonymousId: 'a' },
      { type: 'track', event: 'Nobody' },
      { type: 'identify', traits: { email: 'x@example.com' }, anonymousId: 'a', messageId: 'srv:1' },
    ]);
    expect(events).toEqual([]);
    expect(rejected.map((r) => r.errors[0])).toEqual([
      expect.stringMatching(/^\/event/),
      expect.stringMatching(/screen/),
      '/: userId or anonymousId is required',
      expect.stringMatching(/srv:/),
    ]);
  });

  it('keeps each message under 32 KB once the batch context is added to it', () => {
    const big = { blob: 'x'.repeat(20_000) };
    const { events, rejected } = map(
      [{ type: 'track', event: 'Fits', anonymousId: 'a', messageId: 'm1', properties: big }],
      undefined,
      { batchContext: { also: 'y'.repeat(20_000) } },
    );
    expect(events).toEqual([]);
    expect(rejected[0]!.errors[0]).toMatch(/bytes/);
  });

  it('reads the write key from Basic auth (key as user, empty password)', () => {
    expect(segmentKeyOf(`Basic ${Buffer.from('pk_abc:').toString('base64')}`)).toBe('pk_abc');
    expect(segmentKeyOf(`basic ${Buffer.from('pk_abc').toString('base64')}`)).toBe('pk_abc');
    expect(segmentKeyOf('Bearer sk_x')).toBeUndefined();
    expect(segmentKeyOf(undefined)).toBeUndefined();
    expect(() => segmentKeyOf(`Basic ${Buffer.from(':secret').toString('base64')}`)).toThrow();
  });
});
