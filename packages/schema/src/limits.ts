/**
 * Limits shared by the SDKs and the collector (docs/architecture.md, invariants). The numbers are `@trackmate/core`'s, written
 * out here so that this package needs nothing at run time but typebox; `__tests__/limits.test.ts` fails when the
 * two disagree.
 */
export const LIMITS = {
  /** Bytes of one serialized event. */
  maxEventBytes: 32 * 1024,
  /** Bytes of one request body. */
  maxRequestBytes: 512 * 1024,
  /** Events in one batch request. */
  maxBatchEvents: 500,
  /** Nesting levels of any payload. */
  maxDepth: 64,
  /** Length of an event name. */
  maxNameLength: 64,
  /** Length of ids (messageId, anonymousId, sessionId). */
  maxIdLength: 128,
  /** Bytes a page may have in flight through keepalive fetches and beacons. */
  keepaliveBudgetBytes: 64 * 1024,
} as const;

/** Custom event names: lower-case snake case, 1–64 characters (the SDKs test names with the same RegExp). */
export const EVENT_NAME_PATTERN: string = '^[a-z][a-z0-9_]{0,63}$';

/** A MongoDB ObjectId in hex. */
export const OBJECT_ID_PATTERN = '^[0-9a-fA-F]{24}$';

/** E.164 phone numbers: + and up to 15 digits. */
export const E164_PATTERN = '^\\+[1-9][0-9]{6,14}$';
