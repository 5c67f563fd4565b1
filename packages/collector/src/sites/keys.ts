import { createHash, randomBytes } from 'node:crypto';

/** Public write key: identifies a site from browsers. */
export const newWriteKey = () => `pk_${randomBytes(18).toString('base64url')}`;
/** Secret key: shown once; only its hash is stored. */
export const newSecretKey = () => `sk_${randomBytes(32).toString('base64url')}`;

const WRITE_KEY = /^pk_[A-Za-z0-9_-]{16,64}$/;
const SECRET_KEY = /^sk_[A-Za-z0-9_-]{32,86}$/;

/** Whether a string can be a write key at all (checked before any cache, rate limit or query sees it). */
export const isWriteKeyShape = (key: string) => WRITE_KEY.test(key);
export const isSecretKeyShape = (key: string) => SECRET_KEY.test(key);

/**
 * SHA-256 of a secret key. The keys are 256 random bits, so a fast hash is enough (no dictionary to guess
 * from) and lets the key be looked up by its hash with one indexed query.
 */
export const hashSecretKey = (key: string) => createHash('sha256').update(key).digest('hex');
