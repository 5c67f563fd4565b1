import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeExpired } from '../src/pipeline/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

describe('retention (TRACKMATE_RETENTION_DAYS)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false, env: { TRACKMATE_RETENTION_DAYS: '30' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('deletes events, deliveries and dead letters older than the retention, in batches, and keeps the rest', async () => {
    const siteId = new Types.ObjectId(t.site.siteId);
    const day = 86_400_000;
    const old = new Date(Date.now() - 31 * day);
    const recent = new Date(Date.now() - 29 * day);
    const event = (i: number, at: Date) => ({
      siteId,
      messageId: `ret-${i}`,
      profileId: null,
      anonymousId: 'v',
      sessionId: null,
      name: 'page_view',
      timestamp: at,
      receivedAt: at,
      properties: {},
      source: 'client',
      userAgent: null,
      ip: null,
    });
    // more than one batch of old events (1,000 a batch)
    await t.db
      .collection('events')
      .insertMany([
        ...Array.from({ length: 1_200 }, (_, i) => event(i, old)),
        ...Array.from({ length: 10 }, (_, i) => event(2_000 + i, recent)),
      ]);
    const delivery = (at: Date) => ({ siteId, kind: 'webhook', status: 'sent', target: 'https://x', attempt: 1, at });
    await t.db.collection('deliveries').insertMany([delivery(old), delivery(recent)]);
    const letter = (failedAt: Date) => ({ queue: 'ingest', siteId, reason: 'x', attempts: 1, payload: {}, failedAt });
    await t.db.collection('dead_letters').insertMany([letter(old), letter(recent)]);

    expect(t.config.retentionDays).toBe(30);
    const removed = await removeExpired(t.app.models, t.config.retentionDays);
    expect(removed).toEqual({ events: 1_200, deliveries: 1, deadLetters: 1 });
    expect(await t.db.collection('events').countDocuments({ messageId: /^ret-/ })).toBe(10);
    expect(await t.db.collection('deliveries').countDocuments()).toBe(1);
    expect(await t.db.collection('dead_letters').countDocuments()).toBe(1);
    expect(await removeExpired(t.app.models, t.config.retentionDays)).toEqual({
      events: 0,
      deliveries: 0,
      deadLetters: 0,
    });
  }, 60_000);
});
