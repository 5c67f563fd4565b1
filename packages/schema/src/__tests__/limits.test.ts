import * as core from '@trackmate/core';
import { describe, expect, it } from 'vitest';
import { EVENT_NAME_PATTERN, LIMITS } from '../limits.js';

describe('schema limits', () => {
  it("are @trackmate/core's numbers, so the SDKs and the collector agree on every limit", () => {
    expect(LIMITS).toEqual({
      maxEventBytes: core.MAX_EVENT_BYTES,
      maxRequestBytes: core.MAX_REQUEST_BYTES,
      maxBatchEvents: core.MAX_BATCH_EVENTS,
      maxDepth: core.MAX_DEPTH,
      maxNameLength: core.MAX_NAME_LENGTH,
      maxIdLength: core.MAX_ID_LENGTH,
      keepaliveBudgetBytes: core.KEEPALIVE_BUDGET_BYTES,
    });
    expect(EVENT_NAME_PATTERN).toBe(core.EVENT_NAME.source);
  });
});
