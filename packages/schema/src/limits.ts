import {
  EVENT_NAME,
  KEEPALIVE_BUDGET_BYTES,
  MAX_BATCH_EVENTS,
  MAX_DEPTH,
  MAX_EVENT_BYTES,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_REQUEST_BYTES,
} from '@trackmate/core';

/** Limits shared by the SDKs and the collector (DESIGN.md section 6); the numbers live in `@trackmate/core`. */
export const LIMITS = {
  /** Bytes of one serialized event. */
  maxEventBytes: MAX_EVENT_BYTES,
  /** Bytes of one request body. */
  maxRequestBytes: MAX_REQUEST_BYTES,
  /** Events in one batch request. */
  maxBatchEvents: MAX_BATCH_EVENTS,
  /** Nesting levels of any payload. */
  maxDepth: MAX_DEPTH,
  /** Length of an event name. */
  maxNameLength: MAX_NAME_LENGTH,
  /** Length of ids (messageId, anonymousId, sessionId). */
  maxIdLength: MAX_ID_LENGTH,
  /** Bytes a page may have in flight through keepalive fetches and beacons. */
  keepaliveBudgetBytes: KEEPALIVE_BUDGET_BYTES,
} as const;

/** Custom event names: lower-case snake case, 1–64 characters (the SDKs test names with the same RegExp). */
export const EVENT_NAME_PATTERN: string = EVENT_NAME.source;

/** A MongoDB ObjectId in hex. */
export const OBJECT_ID_PATTERN = '^[0-9a-fA-F]{24}$';

/** E.164 phone numbers: + and up to 15 digits. */
export const E164_PATTERN = '^\\+[1-9][0-9]{6,14}$';
