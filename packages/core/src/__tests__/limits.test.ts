import { describe, expect, it } from 'vitest';
import {
  EVENT_NAME,
  KEEPALIVE_BUDGET_BYTES,
  MAX_BATCH_EVENTS,
  MAX_DEPTH,
  MAX_EVENT_BYTES,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_REQUEST_BYTES,
} from '../limits.js';

describe('limits', () => {
  it('are the documented wire limits', () => {
    expect(MAX_EVENT_BYTES).toBe(32_768);
    expect(MAX_REQUEST_BYTES).toBe(524_288);
    expect(MAX_BATCH_EVENTS).toBe(500);
    expect(MAX_DEPTH).toBe(64);
    expect(MAX_NAME_LENGTH).toBe(64);
    expect(MAX_ID_LENGTH).toBe(128);
    expect(KEEPALIVE_BUDGET_BYTES).toBe(65_536);
  });

  it('takes lower-case snake-case event names of 1 to MAX_NAME_LENGTH characters', () => {
    for (const name of ['page_view', 'order_product', 'a', 'x1', `a${'b'.repeat(MAX_NAME_LENGTH - 1)}`]) {
      expect(EVENT_NAME.test(name), name).toBe(true);
    }
    for (const name of ['', 'Order', '1st', '_x', 'a-b', 'a.b', '$set', `a${'b'.repeat(MAX_NAME_LENGTH)}`]) {
      expect(EVENT_NAME.test(name), name).toBe(false);
    }
  });
});
