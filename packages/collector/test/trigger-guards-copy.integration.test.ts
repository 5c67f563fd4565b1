import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyGuards, enterTriggers, guardCopy, type ReentryGuards } from '../src/campaigns/index.js';
import type { NewEventDoc } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

/**
 * The Redis copy of the triggers' re-entry guards (campaigns/trigger-entry.ts): once a trigger's copy is complete,
 * a visitor it has no guard for enters without a read of `trigger_visitors`; a guard it has is read from
 * `trigger_visitors`, which decides.
 */
describe("the Redis copy of triggers' re-entry guards", () => {
  let t: TestApp;
  let guards: ReentryGuards;
  let triggerId: string;

  beforeAll(async () => {
    // no worker: entries are made here, and the copy is made when the test says
    t = await startTestApp({ worker: false });
    guards = { redis: t.app.redis, prefix: t.config.queuePrefix };
    const res = await fetch(`${t.url}/api/triggers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.site.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Abandoned cart',
        entryEvent: 'add_to_cart',
        delaySeconds: 3600,
        reentryHours: 24,
        action: { type: 'email', subject: 'Your cart', body: 'Still there.' },
      }),
    });
    expect(res.status).toBe(201);
    triggerId = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  const cart = (anonymousId: string): NewEventDoc => {
    const now = new Date();
    return {
      siteId: new Types.ObjectId(t.site.siteId),
      messageId: `m-${randomUUID()}`,
      profileId: null,
      anonymousId,
      sessionId: null,
      name: 'add_to_cart',
      timestamp: now,
      receivedAt: now,
      properties: { productId: 'p', price: 10 },
      sentBy: 'client',
      userAgent: null,
      ip: null,
    };
  };
  const enter = (events: NewEventDoc[]) => enterTriggers(t.app.models, t.app.queues.triggers, guards, events);
  const entries = (anonymousId: string) => t.db.collection('trigger_entries').countDocuments({ anonymousId });
  const guardId = (visitor: string) => `${triggerId}:${visitor}`;

  it('copies the guards of an active trigger; a claim writes its guard to trigger_visitors and to the copy', async () => {
    const before = `b-${randomUUID()}`;
    await enter([cart(before)]); // a guard from before the copy
    expect(await copyGuards(t.app.models, guards)).toBe(1);
    expect(await copyGuards(t.app.models, guards)).toBe(0); // complete: not copied again
    const known = await guardCopy(guards).read(new Map([[triggerId, [before, 'nobody']]]));
    expect(known.get(triggerId)?.get(before)).toMatch(/^\d+\|/);
    expect(known.get(triggerId)?.get('nobody')).toBeNull();

    const visitor = `v-${randomUUID()}`;
    await enter([cart(visitor)]);
    expect(await entries(visitor)).toBe(1);
    expect(await t.db.collection('trigger_visitors').countDocuments({ _id: guardId(visitor) } as never)).toBe(1);
    const copied = await t.app.redis.hget(`${t.config.queuePrefix}:trig-guards:${triggerId}`, visitor);
    expect(copied).toMatch(/^\d+\|/);
    await enter([cart(visitor)]); // inside the window: refused
    expect(await entries(visitor)).toBe(1);
  });

  it('a visitor the copy has no guard for is not looked up in trigger_visitors', async () => {
    await copyGuards(t.app.models, guards);
    const visitor = `n-${randomUUID()}`;
    // a guard written to MongoDB behind the copy's back (nothing in TrackMate does): the claim does not read it
    await t.db
      .collection('trigger_visitors')
      .insertOne({ _id: guardId(visitor), lastEnteredAt: new Date(), lastEntry: 'elsewhere' } as never);
    await enter([cart(visitor)]);
    expect(await entries(visitor)).toBe(1);
  });

  it('a guard the copy holds is read from trigger_visitors: once deleted there, the visitor enters again', async () => {
    await copyGuards(t.app.models, guards);
    const visitor = `d-${randomUUID()}`;
    await enter([cart(visitor)]);
    await t.db.collection('trigger_visitors').deleteOne({ _id: guardId(visitor) } as never);
    await enter([cart(visitor)]);
    expect(await entries(visitor)).toBe(2);
  });
});
