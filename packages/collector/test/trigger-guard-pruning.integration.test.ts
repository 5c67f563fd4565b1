import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyGuards, guardCopy, pruneGuards, type ReentryGuards } from '../src/campaigns/index.js';
import { adminCall } from './helpers/admin.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

/**
 * Re-entry guards past their trigger's window decide nothing (campaigns/trigger-entry.ts, pruneGuards): they are
 * deleted, the ones a claim renews meanwhile are kept, and the trigger's Redis copy is made again.
 */
describe('pruning re-entry guards', () => {
  let t: TestApp;
  let guards: ReentryGuards;
  let triggerId: string;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    guards = { redis: t.app.redis, prefix: t.config.queuePrefix };
    const created = await adminCall(t.url, t.site.secretKey, 'POST', '/api/triggers', {
      name: 'Abandoned cart',
      entryEvent: 'add_to_cart',
      delaySeconds: 3600,
      reentryHours: 2,
      action: { type: 'email', subject: 'Your cart', body: 'Still there.' },
    });
    expect(created.status).toBe(201);
    triggerId = created.body.id;
  });
  afterAll(async () => {
    await t?.close();
  }, 180_000);

  const guardsColl = () => t.db.collection<{ _id: string; lastEnteredAt: Date; lastEntry: string }>('trigger_visitors');
  const addGuard = async (enteredMsAgo: number) => {
    const _id = `${triggerId}:v-${randomUUID()}`;
    await guardsColl().insertOne({ _id, lastEnteredAt: new Date(Date.now() - enteredMsAgo), lastEntry: randomUUID() });
    return _id;
  };
  const exists = async (id: string) => (await guardsColl().countDocuments({ _id: id })) === 1;

  it("deletes the guards older than the trigger's window, keeps the others, and has the copy made again", async () => {
    const old = [await addGuard(3 * HOUR), await addGuard(5 * HOUR)];
    const recent = await addGuard(HOUR);
    await copyGuards(t.app.models, guards);
    expect(await guardCopy(guards).ready([triggerId])).toEqual(new Set([triggerId]));

    expect(await pruneGuards(t.app.models, guards)).toBe(2);
    expect(await exists(old[0]!)).toBe(false);
    expect(await exists(old[1]!)).toBe(false);
    expect(await exists(recent)).toBe(true);
    // the copy held the deleted guards: it is not trusted until copied again, and then holds only the one left
    expect(await guardCopy(guards).ready([triggerId])).toEqual(new Set());
    await copyGuards(t.app.models, guards);
    const fields = (id: string) => id.slice(id.indexOf(':') + 1);
    const read = await guardCopy(guards).read(new Map([[triggerId, [fields(recent), fields(old[0]!)]]]));
    expect(read.get(triggerId)?.get(fields(recent))).toEqual(expect.any(String));
    expect(read.get(triggerId)?.get(fields(old[0]!))).toBeNull();

    expect(await pruneGuards(t.app.models, guards)).toBe(0);
  });

  it('keeps a guard a claim renews while the pruning waits for its lock', async () => {
    const id = await addGuard(4 * HOUR);
    // a claim holds the guard's lock (as claimReentry does) and renews the guard before letting go
    const lockKey = `${t.config.queuePrefix}:trig-guard-lock:${id}`;
    expect(await t.app.redis.set(lockKey, 'claim', 'PX', 10_000, 'NX')).toBe('OK');
    const pruning = pruneGuards(t.app.models, guards);
    await new Promise((r) => setTimeout(r, 1_500));
    await guardsColl().updateOne({ _id: id }, { $set: { lastEnteredAt: new Date() } });
    await t.app.redis.del(lockKey);

    expect(await pruning).toBe(0);
    expect(await exists(id)).toBe(true);
  });
});
