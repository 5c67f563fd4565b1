import { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToFunnel, funnelBase, type LiveFunnel, savedFigures } from '../src/funnels/index.js';
import { isolatedEnv } from './helpers/harness.js';

/**
 * A saved funnel's people in Redis, on the real server: a visitor id joined to a profile moves its progress there,
 * and an event of that visitor id that reaches the worker later without its profile (its job read the links
 * before the identify's job wrote them) still counts for the profile.
 */
describe("a saved funnel's people, merged and forwarded", () => {
  const env = isolatedEnv();
  const redis = new Redis(env.REDIS_URL!);
  const deps = { redis, prefix: env.TRACKMATE_QUEUE_PREFIX! };
  const funnel: LiveFunnel = {
    id: new Types.ObjectId().toHexString(),
    siteId: new Types.ObjectId().toHexString(),
    steps: [{ event: 'a' }, { event: 'b' }, { event: 'c' }],
    window: '1d',
    windowMs: 86_400_000,
    order: 'sequential',
  };
  const base = funnelBase(deps.prefix, funnel.siteId, funnel.id);
  const t0 = Date.parse('2026-03-02T10:00:00Z');
  const step = (person: string, k: number, minutes: number, id: string) => ({
    person,
    t: t0 + minutes * 60_000,
    mask: 1 << k,
    id,
    dims: k === 0 ? { channel: 'Direct', country: 'DE', device: 'mobile' } : undefined,
  });
  const figures = () => savedFigures(redis, base, 3, ['2026-03-02']);

  beforeAll(async () => {
    await redis.ping();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${deps.prefix}:*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
  });

  it('joins a visitor id to its profile once, and forwards its late events there', async () => {
    // the phone walks step 1 anonymously; the laptop, already identified, walks step 2
    await applyToFunnel(deps, funnel, 'UTC', [step('a:phone', 0, 0, 'm1')]);
    await applyToFunnel(deps, funnel, 'UTC', [step('p:X', 1, 5, 'm2')]);
    expect((await figures()).counts).toEqual([1, 0, 0]); // two people: only the phone entered
    // the identify joins the phone to X: one person who reached step 2
    await applyToFunnel(deps, funnel, 'UTC', [], [{ from: 'a:phone', into: 'p:X' }]);
    expect((await figures()).counts).toEqual([1, 1, 0]);
    expect(await redis.exists(`${base}:s:a:phone`)).toBe(0);
    // a late phone event without its profile goes to X, not to a new person of its own
    await applyToFunnel(deps, funnel, 'UTC', [step('a:phone', 2, 9, 'm3')]);
    const after = await figures();
    expect(after.counts).toEqual([1, 1, 1]);
    expect(after.medianToConvert).toBe(540);
    expect(await redis.exists(`${base}:s:a:phone`)).toBe(0);
    // applying the same events again (a retried job) changes nothing
    await applyToFunnel(deps, funnel, 'UTC', [step('a:phone', 2, 9, 'm3'), step('p:X', 1, 5, 'm2')]);
    expect(await figures()).toEqual(after);
  });

  it('answers a range of whole weeks from kept week bitmaps, made again when a day of the week changes', async () => {
    const weekly = { ...funnel, id: new Types.ObjectId().toHexString() };
    const at = funnelBase(deps.prefix, weekly.siteId, weekly.id);
    // Monday 2 March to Sunday 15 March 2026: two whole weeks; people enter on the Tuesday and the next Sunday
    const days = Array.from({ length: 14 }, (_, i) => new Date(t0 + i * 86_400_000).toISOString().slice(0, 10));
    await applyToFunnel(deps, weekly, 'UTC', [step('a:u1', 0, 1440, 'w1'), step('a:u2', 0, 13 * 1440, 'w2')]);
    expect((await savedFigures(redis, at, 3, days)).counts).toEqual([2, 0, 0]);
    expect(await redis.exists(`${at}:bw:2026-03-02:0`, `${at}:bw:2026-03-09:0`)).toBe(2);
    // a later event inside the first week, and a merge that takes the second week's person off its day
    await applyToFunnel(deps, weekly, 'UTC', [step('a:u1', 1, 1450, 'w3')]);
    expect((await savedFigures(redis, at, 3, days)).counts).toEqual([2, 1, 0]);
    await applyToFunnel(deps, weekly, 'UTC', [], [{ from: 'a:u2', into: 'p:Z' }]);
    await applyToFunnel(deps, weekly, 'UTC', [step('a:u3', 0, 2 * 1440, 'w4')]);
    const figures = await savedFigures(redis, at, 3, days);
    // u2's day moved to Z (still one person), u3 entered on the Wednesday
    expect(figures.counts).toEqual([3, 1, 0]);
    expect(figures).toEqual(await savedFigures(redis, at, 3, days));
  });

  it("moves a visitor id's events of the same batch to the profile it is joined to", async () => {
    const tablet = { ...funnel, id: new Types.ObjectId().toHexString() };
    await applyToFunnel(
      deps,
      tablet,
      'UTC',
      [step('a:tablet', 0, 0, 't1'), step('p:Y', 1, 3, 't2')],
      [{ from: 'a:tablet', into: 'p:Y' }],
    );
    const other = funnelBase(deps.prefix, tablet.siteId, tablet.id);
    expect((await savedFigures(redis, other, 3, ['2026-03-02'])).counts).toEqual([1, 1, 0]);
    expect(await redis.exists(`${other}:s:a:tablet`)).toBe(0);
  });
});
