/**
 * The wire limits (docs/architecture.md, invariants), defined once: the SDKs check them before sending and
 * `@trackmate/schema` builds its `LIMITS` from them for the collector. One constant per limit, so that a
 * bundler keeps only those a build uses and the minifier inlines them as plain numbers.
 */

/** Bytes of one serialized event. */
export const MAX_EVENT_BYTES = 32 * 1024;
/** Bytes of one request body. */
export const MAX_REQUEST_BYTES = 512 * 1024;
/** Events in one batch request. */
export const MAX_BATCH_EVENTS = 500;
/** Nesting levels of any payload. */
export const MAX_DEPTH = 64;
/** Length of an event name. */
export const MAX_NAME_LENGTH = 64;
/** Length of ids (messageId, anonymousId, sessionId). */
export const MAX_ID_LENGTH = 128;
/** Bytes a page may have in flight through keepalive fetches and beacons, shared by every script on it. */
export const KEEPALIVE_BUDGET_BYTES = 64 * 1024;
/** Custom event names: lower-case snake case, 1–64 characters (MAX_NAME_LENGTH). */
export const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
