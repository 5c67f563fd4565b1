import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';

describe('client IP behind a proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRACKMATE_TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('takes the address the trusted proxy saw, not one the client wrote into X-Forwarded-For (true = one hop)', async () => {
    const event = clientEvent();
    // the client claims 203.0.113.9; the one proxy in front appends the address it really saw
    const res = await postEvents(
      t.url,
      { writeKey: t.site.writeKey, batch: [event] },
      {
        headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' },
      },
    );
    expect(res.status).toBe(202);
    const stored = await waitFor(
      () => t.db.collection('events').findOne({ messageId: event.messageId }),
      10_000,
      'event',
    );
    expect(stored.ip).toBe('198.51.100.7');
  });
});
