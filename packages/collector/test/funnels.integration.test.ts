import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite } from '../src/sites/index.js';
import { FUNNEL, funnelWalks } from './fixtures/funnel-walks.js';
import { adminCall } from './helpers/admin.js';
import { postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { queueDrained } from './helpers/platform-hooks.js';

const fixture = funnelWalks();
const range = `from=${fixture.from}&to=${fixture.to}`;
const stepsParam = encodeURIComponent(JSON.stringify(FUNNEL.steps));

describe('funnels per person through the real collector', () => {
  let t: TestApp;
  const funnel = async (query: string) => {
    const res = await adminCall(
      t.url,
      t.site.secretKey,
      'GET',
      `/api/stats/funnel?${range}&steps=${stepsParam}&${query}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const counts = (body: { steps: Array<{ visitors: number }> }) => body.steps.map((s) => s.visitors);

  /** Saved before any event arrives: kept current by the worker alone. */
  const live: Record<string, string> = {};
  const save = async (name: string, extra: Record<string, unknown> = {}) => {
    const res = await adminCall(t.url, t.site.secretKey, 'POST', '/api/funnels', { name, ...FUNNEL, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; status: string };
  };

  beforeAll(async () => {
    t = await startTestApp();
    live.sequential = (await save('Pricing to checkout')).id;
    live.strict = (await save('Pricing to checkout, strict', { order: 'strict' })).id;
    for (const w of fixture.walks) {
      const res = await postEvents(
        t.url,
        { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch: w.events },
        { headers: { 'user-agent': w.ua } },
      );
      expect(res.status).toBe(202);
    }
    await waitFor(async () => (await t.db.collection('events').countDocuments()) === fixture.total, 30_000, 'events');
    await queueDrained(t.app.queues.ingest);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('counts each person once per step, in order within the window, visitor ids joined by identify as one', async () => {
    const body = await funnel(`window=${FUNNEL.window}`);
    // A, B, C, D and E (phone + laptop) enter; B's steps are out of order; D's checkout is past the window
    expect(counts(body)).toEqual([5, 4, 3]);
    expect(body.steps.map((s: { dropOff: number }) => s.dropOff)).toEqual([0, 1, 1]);
    expect(body.steps[2].conversionRate).toBe(0.6);
    expect(body.steps[1].fromPrevious).toBe(0.8);
    // pricing → cart: A 5 min, C 13 h, D 10 min, E 5 min; cart → checkout: A 5 min, C 30 min, E 6 h
    expect(body.steps.map((s: { medianSecondsFromPrevious: number | null }) => s.medianSecondsFromPrevious)).toEqual([
      null,
      450,
      1800,
    ]);
    // to convert: A 10 min, E 6 h 5 min (21,900 s, kept to 2 significant digits), C 13 h 30 min
    expect(body.medianSecondsToConvert).toBe(22_000);
    expect(body).toMatchObject({ window: '2d', order: 'sequential', computedFrom: 'events', limited: false });
    expect(body.notice).toBeUndefined();
  });

  it('strict order stops at any other event between steps (E identified between cart and checkout)', async () => {
    expect(counts(await funnel(`window=${FUNNEL.window}&order=strict`))).toEqual([5, 4, 2]);
  });

  it('a wider window lets D convert', async () => {
    expect(counts(await funnel('window=4d'))).toEqual([5, 4, 4]);
    expect(counts(await funnel('window=1h'))).toEqual([5, 3, 1]);
  });

  it('breaks each step down by the device and channel of the first step', async () => {
    const body = await funnel(`window=${FUNNEL.window}&breakdown=device`);
    expect(body.breakdown).toEqual({
      dimension: 'device',
      rows: [
        { value: 'mobile', visitors: [3, 2, 1] },
        { value: 'desktop', visitors: [2, 2, 2] },
      ],
    });
    const channels = await funnel(`window=${FUNNEL.window}&breakdown=channel`);
    // A came back directly the next day (the pricing page only): in both rows, as a visitor of two sources
    expect(channels.breakdown.rows).toEqual([
      { value: 'Direct', visitors: [5, 3, 2] },
      { value: 'Organic Search', visitors: [1, 1, 1] },
    ]);
  });

  it('says "limited to N visitors" when the scan stops at its bound (the first people to enter)', async () => {
    const body = await funnel(`window=${FUNNEL.window}&limit=2`);
    expect(counts(body)).toEqual([2, 2, 1]); // D (08:00) and A (10:00) of D0
    expect(body).toMatchObject({ limited: true, notice: 'limited to 2 visitors' });
  });

  it('a saved funnel answers from its state with the figures of the unsaved one, kept live or built afterwards', async () => {
    const built = await save('Built from stored events');
    expect(built.status).toBe('building');
    await waitFor(
      async () => (await adminCall(t.url, t.site.secretKey, 'GET', `/api/funnels/${built.id}`)).body.status === 'ready',
      30_000,
      'the build',
    );
    const strip = (b: Record<string, unknown>) => ({ ...b, computedFrom: undefined, limited: undefined });
    for (const query of ['', '&breakdown=device', '&breakdown=channel', '&breakdown=country']) {
      const unsaved = await funnel(`window=${FUNNEL.window}${query}`);
      for (const id of [live.sequential, built.id]) {
        const saved = await funnel(`funnel=${id}${query}`);
        expect(saved.computedFrom).toBe('saved');
        expect(strip(saved)).toEqual(strip(unsaved));
      }
    }
    const strict = await funnel(`funnel=${live.strict}`);
    expect(counts(strict)).toEqual([5, 4, 2]);
    expect(strip(strict)).toEqual(strip(await funnel(`window=${FUNNEL.window}&order=strict`)));
    // a narrower range: only the people who entered on D1 (A's return visit, C's evening is D0, E)
    const d1 = `from=${fixture.d1}&to=${fixture.d1}`;
    const one = await adminCall(t.url, t.site.secretKey, 'GET', `/api/stats/funnel?${d1}&funnel=${built.id}`);
    const scan = await adminCall(
      t.url,
      t.site.secretKey,
      'GET',
      `/api/stats/funnel?${d1}&steps=${stepsParam}&window=2d`,
    );
    expect(one.body.steps.map((s: { visitors: number }) => s.visitors)).toEqual([2, 1, 1]);
    expect(strip(one.body)).toEqual(strip(scan.body));
  });

  it('lists, renames and deletes saved funnels; the state goes with them', async () => {
    const list = await adminCall(t.url, t.site.secretKey, 'GET', '/api/funnels');
    expect(list.body.funnels.map((f: { name: string }) => f.name)).toContain('Pricing to checkout');
    const renamed = await adminCall(t.url, t.site.secretKey, 'PATCH', `/api/funnels/${live.strict}`, {
      name: 'Strict',
    });
    expect(renamed.body).toMatchObject({ name: 'Strict', order: 'strict' });
    // the people's states (`:s:<person>`) sit beside the bitmaps, and go with them
    expect((await t.app.redis.keys(`${t.config.queuePrefix}:funnel:*{${live.strict}}:s:*`)).length).toBeGreaterThan(0);
    const del = await adminCall(t.url, t.site.secretKey, 'DELETE', `/api/funnels/${live.strict}`);
    expect(del.status).toBe(204);
    const keys = await t.app.redis.keys(`${t.config.queuePrefix}:funnel:*{${live.strict}}*`);
    expect(keys).toEqual([]);
    expect((await adminCall(t.url, t.site.secretKey, 'GET', `/api/funnels/${live.strict}`)).status).toBe(404);
    const bad = await adminCall(t.url, t.site.secretKey, 'POST', '/api/funnels', {
      name: 'x',
      steps: [{ event: 'a' }],
    });
    expect(bad.status).toBe(400);
  });

  it('erasing a person drops their state, number and forwards from every saved funnel', async () => {
    const person = await t.db.collection('profiles').findOne({ 'anonymousIds.0': { $exists: true } });
    expect(person).not.toBeNull();
    const hex = person!._id.toHexString();
    const people = [`p:${hex}`, ...(person!.anonymousIds as string[]).map((a) => `a:${a}`)];
    const base = `${t.config.queuePrefix}:funnel:${t.site.siteId}:{${live.sequential}}`;
    const held = async () => {
      const keys = people.flatMap((p) => [`${base}:s:${p}`, `${base}:to:${p}`]);
      const numbered = await Promise.all(people.map((p) => t.app.redis.hexists(`${base}:pid`, p)));
      return (await t.app.redis.exists(...keys)) + numbered.reduce((a, b) => a + b, 0);
    };
    expect(await held()).toBeGreaterThan(0);
    const erased = await adminCall(t.url, t.site.secretKey, 'DELETE', `/api/profiles/${hex}`);
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(await held()).toBe(0);
    // the funnel's figures are numbers, not people: they stay, and the funnel still answers
    expect((await funnel(`funnel=${live.sequential}`)).computedFrom).toBe('saved');
  });

  it('two profiles of one person, merged by a backend, count once in a saved funnel', async () => {
    // a site of its own, so the fixture's figures stay as they are
    const shop = await createSite(t.app.models, { name: 'Merging shop', origins: [] });
    const saved = await adminCall(t.url, shop.secretKey, 'POST', '/api/funnels', {
      name: 'Plans',
      steps: [{ event: 'plan_viewed' }, { event: 'plan_chosen' }],
      window: '1d',
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    const server = async (body: Record<string, unknown>) =>
      expect((await adminCall(t.url, shop.secretKey, 'POST', '/api/track/server-event', body)).status).toBe(202);
    const email = `merge-${Date.now()}@example.com`;
    const userId = `u-${Date.now()}`;
    const at = (minutes: number) => new Date(Date.now() - 60 * 60_000 + minutes * 60_000).toISOString();
    // the person views a plan known by e-mail, and chooses it known by userId: two profiles
    await server({ event: 'plan_viewed', messageId: `v-${email}`, timestamp: at(0), profile: { email } });
    await server({ event: 'plan_chosen', messageId: `c-${userId}`, timestamp: at(5), profile: { userId } });
    const day = at(0).slice(0, 10);
    const figures = async () => {
      const res = await adminCall(
        t.url,
        shop.secretKey,
        'GET',
        `/api/stats/funnel?from=${day}&to=${day}&funnel=${saved.body.id}`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return counts(res.body);
    };
    await waitFor(
      async () =>
        (await figures())[0] === 1 &&
        (await t.db.collection('profiles').countDocuments({ siteId: new Types.ObjectId(shop.siteId) })) === 2,
      30_000,
      'two profiles, one entered',
    );
    await queueDrained(t.app.queues.ingest);
    expect(await figures()).toEqual([1, 0]);
    // the backend says they are one: the e-mail's profile is merged into the userId's, and so is its progress
    await server({ event: 'account_linked', messageId: `l-${userId}`, timestamp: at(10), profile: { userId, email } });
    await waitFor(async () => (await figures())[1] === 1, 30_000, 'the merged person converting');
    expect(await figures()).toEqual([1, 1]);
    expect(await t.db.collection('profiles').countDocuments({ siteId: new Types.ObjectId(shop.siteId) })).toBe(1);
  });

  it('rejects bad steps, windows and limits with a reason', async () => {
    const bad = async (query: string, reason: RegExp) => {
      const res = await adminCall(t.url, t.site.secretKey, 'GET', `/api/stats/funnel?${range}&${query}`);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(reason);
    };
    await bad(`steps=${encodeURIComponent('[{"event":"page_view"}]')}`, /2–8 steps/);
    await bad('steps=not-json', /JSON array/);
    await bad(`steps=${encodeURIComponent('[{"event":"a"},{"event":"$where"}]')}`, /steps/);
    await bad(
      `steps=${encodeURIComponent('[{"event":"a"},{"event":"b","property":{"key":"__proto__","value":1}}]')}`,
      /steps/,
    );
    await bad(`steps=${stepsParam}&window=91d`, /window/);
    await bad(`steps=${stepsParam}&window=0h`, /window/);
    await bad(`steps=${stepsParam}&limit=0`, /limit/);
    const noKey = await fetch(`${t.url}/api/stats/funnel?${range}&steps=${stepsParam}`);
    expect(noKey.status).toBe(401);
  });
});
