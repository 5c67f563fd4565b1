/**
 * The wire limits the SDK enforces before sending (DESIGN.md section 6). Copied from `@trackmate/schema`'s
 * LIMITS rather than imported, because that module carries TypeBox at run time; `test/limits.test.ts` fails
 * when the two drift apart.
 */
export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_REQUEST_BYTES = 512 * 1024;
export const MAX_BATCH_EVENTS = 500;
/** Bytes a page may have in flight through keepalive fetches and beacons, shared by every script on it. */
export const KEEPALIVE_BUDGET = 64 * 1024;
export const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
