export { BACKOFF_BASE, BACKOFF_MAX, backoffDelay, isRetryableStatus, parseRetryAfter } from './backoff.js';
export { takeBatch } from './batches.js';
export {
  EVENT_NAME,
  KEEPALIVE_BUDGET_BYTES,
  MAX_BATCH_EVENTS,
  MAX_DEPTH,
  MAX_EVENT_BYTES,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_REQUEST_BYTES,
} from './limits.js';
