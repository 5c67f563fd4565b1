import { E164_PATTERN } from '@trackmate/schema';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = new RegExp(E164_PATTERN);

/** A lower-cased, trimmed e-mail, or undefined when the value is not one. */
export function normalizeEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim().toLowerCase();
  return email.length <= 254 && EMAIL.test(email) ? email : undefined;
}

/** An E.164 phone from what a visitor typed ("+91 12345-67890" → "+911234567890"), or undefined. */
export function normalizePhone(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const compact = value.replace(/[\s\-().]/g, '').replace(/^00/, '+');
  return E164.test(compact) ? compact : undefined;
}

export function cleanName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = value.trim().slice(0, 200);
  return name || undefined;
}
