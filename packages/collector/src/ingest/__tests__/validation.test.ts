import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { correctTimestamp, validateClientEvents } from '../validate-client.js';
import { normalizeEmail, normalizePhone } from '../../profiles/profile-fields.js';
import { storedIp } from '../client-ip.js';
import { hashSecretKey, newSecretKey, newWriteKey } from '../../sites/keys.js';
import { normalizeOrigin, originAllowed } from '../../sites/origins.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      mongodbUri: 'mongodb://127.0.0.1:27017/trackmate',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'trackmate',
      port: 8080,
      host: '127.0.0.1',
      trustProxy: false,
      ipMode: 'full',
      logLevel: 'info',
    });
    expect(c.smtpUrl).toBeUndefined();
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ MONGODB_URI: 'postgres://x' }, /MONGODB_URI must start with mongodb:\/\//],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL is not a URL/],
    [{ TRACKMATE_IP_MODE: 'partial' }, /TRACKMATE_IP_MODE must be full, anonymize or none/],
    [{ TRACKMATE_TRUST_PROXY: 'maybe' }, /TRACKMATE_TRUST_PROXY must be true or false/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ TRACKMATE_QUEUE_PREFIX: 'a:b' }, /TRACKMATE_QUEUE_PREFIX/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL must start with smtp:\/\//],
  ])('stops with one line naming the variable for %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lets flags override the environment and never prints a password', () => {
    expect(loadConfig({ PORT: '9000' }, { port: 9100 }).port).toBe(9100);
    expect(() => loadConfig({ MONGODB_URI: 'http://user:hunter2@db' })).toThrow(/user:\*\*\*@db/);
  });
});

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

describe('origins', () => {
  it('normalizes and matches origins exactly', () => {
    expect(normalizeOrigin('HTTPS://Shop.Example:443/path')).toBe('https://shop.example');
    expect(normalizeOrigin('ftp://x')).toBeUndefined();
    expect(originAllowed('https://shop.example', ['https://shop.example'])).toBe(true);
    expect(originAllowed('https://shop.example.evil.test', ['https://shop.example'])).toBe(false);
    expect(originAllowed('http://shop.example', ['https://shop.example'])).toBe(false);
    expect(originAllowed(undefined, ['https://shop.example'])).toBe(true);
    expect(originAllowed('https://any.test', ['*'])).toBe(true);
  });
});

describe('keys', () => {
  it('makes distinct pk_/sk_ keys and hashes secrets one way', () => {
    const sk = newSecretKey();
    expect(newWriteKey()).toMatch(/^pk_[A-Za-z0-9_-]{24}$/);
    expect(sk).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(newSecretKey()).not.toBe(sk);
    expect(hashSecretKey(sk)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecretKey(sk)).not.toContain(sk.slice(3));
  });
});

describe('profile fields', () => {
  it('lower-cases e-mails and turns typed phones into E.164', () => {
    expect(normalizeEmail('  Jane@Example.COM ')).toBe('jane@example.com');
    expect(normalizeEmail('jane@')).toBeUndefined();
    expect(normalizePhone('+91 12345-67890')).toBe('+911234567890');
    expect(normalizePhone('0044 (20) 7946 0958')).toBe('+442079460958');
    expect(normalizePhone('12345')).toBeUndefined();
  });
});

describe('client event validation', () => {
  const ctx = { siteId: 'a'.repeat(24), receivedAt: new Date('2026-11-28T12:00:00Z'), ip: null, userAgent: null };

  it('corrects clock skew and never dates an event after it was received', () => {
    const received = new Date('2026-11-28T12:00:00Z');
    expect(correctTimestamp('2026-11-28T14:59:50Z', '2026-11-28T15:00:00Z', received).toISOString()).toBe(
      '2026-11-28T11:59:50.000Z',
    );
    expect(correctTimestamp('2026-11-28T13:00:00Z', undefined, received).toISOString()).toBe('2026-11-28T12:00:00.000Z');
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
});
