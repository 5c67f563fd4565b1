import { describe, expect, it } from 'vitest';
import { hashSecretKey, isSecretKeyShape, isWriteKeyShape, newSecretKey, newWriteKey } from '../keys.js';
import { normalizeOrigin, originAllowed } from '../origins.js';

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

describe('key shapes', () => {
  it('accepts the keys this collector makes and nothing else', () => {
    expect(isWriteKeyShape(newWriteKey())).toBe(true);
    expect(isSecretKeyShape(newSecretKey())).toBe(true);
    expect(isWriteKeyShape(newSecretKey())).toBe(false);
    expect(isSecretKeyShape(newWriteKey())).toBe(false);
    expect(isWriteKeyShape(`pk_${'a'.repeat(65)}`)).toBe(false);
    expect(isWriteKeyShape('pk_abc def ghi jkl mno')).toBe(false);
    expect(isWriteKeyShape('pk_')).toBe(false);
  });
});
