import { describe, expect, it } from 'vitest';
import { normalizeEmail, normalizePhone } from '../profile-fields.js';

describe('profile fields', () => {
  it('lower-cases e-mails and turns typed phones into E.164', () => {
    expect(normalizeEmail('  Jane@Example.COM ')).toBe('jane@example.com');
    expect(normalizeEmail('jane@')).toBeUndefined();
    expect(normalizePhone('+91 12345-67890')).toBe('+911234567890');
    expect(normalizePhone('0044 (20) 7946 0958')).toBe('+442079460958');
    expect(normalizePhone('12345')).toBeUndefined();
  });
});
