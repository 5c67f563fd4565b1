import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Public write key: identifies a site from browsers. */
export const newWriteKey = () => `pk_${randomBytes(18).toString('base64url')}`;
/** Secret key: shown once; only its hash is stored. */
export const newSecretKey = () => `sk_${randomBytes(32).toString('base64url')}`;

/**
 * SHA-256 of a secret key. The keys are 256 random bits, so a fast hash is enough (no dictionary to guess
 * from) and lets the key be looked up by its hash with one indexed query.
 */
export const hashSecretKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
