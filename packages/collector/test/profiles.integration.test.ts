import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileDoc } from '../src/models/index.js';
import { visitorIdWindows } from '../src/profiles/person-data.js';
import { type CreatedSite, createSite } from '../src/sites/create-site.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { secretApi, specOrder } from './helpers/secret-api.js';

let t: TestApp;
let siteB: CreatedSite;

beforeAll(async () => {
  t = await startTestApp();
  siteB = await createSite(t.app.models, { name: 'Shop B', origins: [] });
});
afterAll(async () => {
  await t?.close();
});

const api = (method: string, path: string, body?: unknown, key: string | null = t.site.secretKey) =>
  secretApi(t.url, key, method, path, body);
const track = (body: unknown, key = t.site.secretKey) => secretApi(t.url, key, 'POST', '/api/track/server-event', body);
const events = () => t.db.collection('events');
const profiles = () => t.db.collection('profiles');
const identities = () => t.db.collection('identities');

/** Creates (through the server endpoint) and returns the id of a profile with this e-mail. */
async function person(email: string, key = t.site.secretKey, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await track({ event: 'identify', messageId: `identify-${email}`, profile: { email, ...extra } }, key);
  expect(res.status).toBe(202);
  // the worker upserts the profile (and records its consent) before it stores the event
  await waitFor(() => events().findOne({ messageId: `srv:identify-${email}` }), 15_000, `identify of ${email}`);
  const doc = await waitFor(() => profiles().findOne({ email }), 15_000, `profile ${email}`);
  return doc._id.toString();
}

/** Server events for a profile, one a minute back from `start`, waited for until stored. */
async function eventsFor(email: string, names: string[], start = Date.parse('2026-03-01T12:00:00Z')) {
  const batch = names.map((name, i) => ({
    event: name,
    messageId: `${email}-${i}`,
    email,
    timestamp: new Date(start - i * 60_000).toISOString(),
    properties: { i },
  }));
  expect((await track({ batch })).body.accepted).toBe(names.length);
  await waitFor(
    async () =>
      (await events().countDocuments({ messageId: { $in: batch.map((b) => `srv:${b.messageId}`) } })) === names.length,
  );
}

describe('profile API', () => {
  it('finds a profile by e-mail (any case) and by id, with the fields the order carried', async () => {
    expect((await track(specOrder())).status).toBe(202);
    await waitFor(() => profiles().findOne({ email: 'jane@example.com' }));
    const found = await api('GET', '/api/profiles?email=Jane@Example.COM');
    expect(found.status).toBe(200);
    expect(found.body.profiles).toHaveLength(1);
    const jane = found.body.profiles[0];
    expect(jane).toMatchObject({
      siteId: t.site.siteId,
      email: 'jane@example.com',
      firstName: 'Jane',
      lastName: 'Doe',
      phone: '+911234567890',
      consent: { email: false },
      consentHistory: [],
    });
    const byId = await api('GET', `/api/profiles/${jane.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body).toEqual(jane);
    expect((await api('GET', '/api/profiles?email=nobody@example.com')).body).toEqual({
      profiles: [],
      nextCursor: null,
    });
  });

  it("answers 404 to site A's key for site B's profile, on every route, and changes nothing", async () => {
    const bId = await person('b-only@example.com', siteB.secretKey, { firstName: 'Bea' });
    // site B's own key sees it
    expect((await api('GET', `/api/profiles/${bId}`, undefined, siteB.secretKey)).status).toBe(200);
    for (const [method, path, body] of [
      ['GET', `/api/profiles/${bId}`],
      ['PATCH', `/api/profiles/${bId}`, { firstName: 'Mallory' }],
      ['GET', `/api/profiles/${bId}/events`],
      ['GET', `/api/profiles/${bId}/export`],
      ['DELETE', `/api/profiles/${bId}`],
    ] as const) {
      const res = await api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code).toBe('TM_ERR_PROFILE_NOT_FOUND');
    }
    expect((await api('GET', '/api/profiles?email=b-only@example.com')).body.profiles).toEqual([]);
    const listed = await api('GET', '/api/profiles?limit=200');
    expect(listed.body.profiles.map((p: { id: string }) => p.id)).not.toContain(bId);
    const stored = await profiles().findOne({ _id: new ObjectId(bId) });
    expect(stored).toMatchObject({ firstName: 'Bea' });
  });

  it('answers 401 without or with an unknown secret key, and 400 for a malformed id', async () => {
    const none = await api('GET', '/api/profiles', undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('TM_ERR_MISSING_SECRET');
    expect((await api('GET', '/api/profiles', undefined, 'sk_unknown_unknown_unknown')).status).toBe(401);
    expect((await api('DELETE', `/api/profiles/${new ObjectId()}`, undefined, t.site.writeKey)).status).toBe(401);
    const bad = await api('GET', '/api/profiles/not-an-id');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/24 hexadecimal/);
    expect((await api('GET', `/api/profiles/${new ObjectId()}`)).status).toBe(404);
  });

  it('PATCH: a later false wins over an earlier true, and the history shows each decision with its source', async () => {
    const id = await person('consent@example.com', t.site.secretKey, { consent: { email: true } });
    const yes = await api('PATCH', `/api/profiles/${id}`, { consent: { email: true } });
    expect(yes.body.consent.email).toBe(true);
    const no = await api('PATCH', `/api/profiles/${id}`, { consent: { email: false } });
    expect(no.status).toBe(200);
    expect(no.body.consent.email).toBe(false);
    // an event carrying an older "yes" (a delayed webhook) does not overturn the newer "no"
    await track({
      event: 'identify',
      messageId: 'late-yes',
      timestamp: '2020-01-01T00:00:00Z',
      profile: { email: 'consent@example.com', consent: { email: true } },
    });
    await waitFor(() => events().findOne({ messageId: 'srv:late-yes' }));
    const now = await api('GET', `/api/profiles/${id}`);
    expect(now.body.consent.email).toBe(false);
    const history = now.body.consentHistory.map((c: { email: boolean; source: string }) => [c.email, c.source]);
    expect(history).toEqual([
      [true, 'server'], // 2020, the late webhook (oldest first by time)
      [true, 'server'], // the identify that created the profile
      [true, 'api'],
      [false, 'api'],
    ]);
    for (const c of now.body.consentHistory) expect(Number.isNaN(Date.parse(c.at))).toBe(false);
    expect(Date.parse(now.body.consent.updatedAt)).toBe(Date.parse(now.body.consentHistory[3].at));
  });

  it('PATCH: names, E.164 phone and metadata merged key by key; bad input answers 400 and changes nothing', async () => {
    const id = await person('patch@example.com');
    const first = await api('PATCH', `/api/profiles/${id}`, {
      firstName: ' Pat ',
      phone: '+442079460958',
      metadata: { plan: 'pro', tags: ['a', 'b'], address: { city: 'Leeds' } },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      firstName: 'Pat',
      phone: '+442079460958',
      metadata: { plan: 'pro', tags: ['a', 'b'] },
    });
    const second = await api('PATCH', `/api/profiles/${id}`, {
      lastName: 'Lee',
      phone: null,
      metadata: { plan: null, seats: 3 },
    });
    expect(second.body.metadata).toEqual({ tags: ['a', 'b'], address: { city: 'Leeds' }, seats: 3 });
    expect(second.body).toMatchObject({ firstName: 'Pat', lastName: 'Lee' });
    expect(second.body.phone).toBeUndefined();

    for (const [body, reason] of [
      [{ phone: '020 7946 0958' }, /phone/],
      [{ metadata: { 'a.b': 1 } }, /\/metadata\/a\.b: keys may not contain '\.'/],
      [{ metadata: { deep: { $gt: 1 } } }, /\/metadata\/deep\/\$gt: keys may not start with '\$'/],
      [{ metadata: { grid: [[1, 2]] } }, /arrays inside arrays/],
      [{ metadata: { big: 'x'.repeat(40_000) } }, /bytes/],
      [{ email: 'new@example.com' }, /email|additional/i],
      [{}, /./],
    ] as const) {
      const res = await api('PATCH', `/api/profiles/${id}`, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.message).toMatch(reason);
    }
    const after = await api('GET', `/api/profiles/${id}`);
    expect(after.body).toEqual(second.body);
  });

  it("lists a profile's events newest first, page by page, with a name filter", async () => {
    const id = await person('pages@example.com');
    const names = ['view_plan', 'view_plan', 'buy_plan', 'view_plan', 'buy_plan', 'view_plan', 'view_plan'];
    await eventsFor('pages@example.com', names);
    const seen: Array<{ name: string; timestamp: string; profileId: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api('GET', `/api/profiles/${id}/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.events.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.events);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    // the identify plus the seven events, each once, newest first
    expect(seen).toHaveLength(names.length + 1);
    expect(new Set(seen.map((e) => (e as unknown as { id: string }).id)).size).toBe(seen.length);
    const times = seen.map((e) => Date.parse(e.timestamp));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(seen.every((e) => e.profileId === id)).toBe(true);

    const buys = await api('GET', `/api/profiles/${id}/events?name=buy_plan`);
    expect(buys.body.events.map((e: { properties: { i: number } }) => e.properties.i)).toEqual([2, 4]);
    expect(buys.body.nextCursor).toBeNull();
    expect((await api('GET', `/api/profiles/${id}/events?cursor=garbage`)).status).toBe(400);
    expect((await api('GET', `/api/profiles/${id}/events?limit=0`)).status).toBe(400);
  });

  it('lists profiles page by page without repeats or gaps', async () => {
    for (let i = 0; i < 5; i++) await person(`list${i}@example.com`);
    const all = (await api('GET', '/api/profiles?limit=200')).body.profiles.map((p: { id: string }) => p.id);
    expect(all.length).toBeGreaterThanOrEqual(5);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api('GET', `/api/profiles?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...res.body.profiles.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor && paged.length < 1000);
    expect(paged).toEqual(all);
  });

  it('erasure removes the profile, its events, its anonymous history and its links, and nobody else’s', async () => {
    const anon = 'anon-erase-1';
    const before = [
      clientEvent({ anonymousId: anon }),
      clientEvent({ anonymousId: anon, name: 'add_to_cart', properties: { productId: 'p', quantity: 1, price: 5 } }),
    ];
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: before })).status).toBe(202);
    await waitFor(async () => (await events().countDocuments({ anonymousId: anon })) === 2);
    const identify = clientEvent({
      anonymousId: anon,
      name: 'identify',
      properties: { email: 'erase@example.com', consent: true },
    });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [identify] })).status).toBe(202);
    const profile = await waitFor(() => profiles().findOne({ email: 'erase@example.com' }));
    const id = profile._id.toString();
    await waitFor(() => identities().findOne({ profileId: profile._id }));
    await track({ ...specOrder(), orderId: 'erase-order', profile: { email: 'erase@example.com' } });
    await eventsFor('erase@example.com', ['view_plan']);
    await waitFor(() => events().findOne({ 'properties.orderId': 'erase-order' }));
    const keep = await person('keep@example.com');
    await eventsFor('keep@example.com', ['view_plan', 'buy_plan']);
    const keepBefore = await events().countDocuments({ profileId: new ObjectId(keep) });

    // a visitor event that arrived unlinked (it raced the back-fill): still part of the person's anonymous history
    await events().insertOne({
      siteId: new ObjectId(t.site.siteId),
      messageId: 'late-anonymous',
      anonymousId: anon,
      profileId: null,
      name: 'page_view',
      timestamp: new Date(),
      receivedAt: new Date(),
      properties: {},
    });

    // what campaign triggers keep about a person: a waiting entry (a delayed e-mail) and a sent e-mail's record
    const siteId = new ObjectId(t.site.siteId);
    const now = new Date();
    await t.db.collection<{ _id: string }>('trigger_entries').insertMany([
      {
        _id: 'tr1:erase',
        siteId,
        triggerId: new ObjectId(),
        profileId: profile._id,
        anonymousId: anon,
        state: 'waiting',
        event: { messageId: 'x', name: 'add_to_cart', timestamp: now, properties: {} },
        enteredAt: now,
        fireAt: now,
        updatedAt: now,
      },
      {
        _id: 'tr1:erase-anon',
        siteId,
        triggerId: new ObjectId(),
        profileId: null,
        anonymousId: anon,
        state: 'waiting',
        event: { messageId: 'y', name: 'add_to_cart', timestamp: now, properties: {} },
        enteredAt: now,
        fireAt: now,
        updatedAt: now,
      },
      {
        _id: 'tr1:keep',
        siteId,
        triggerId: new ObjectId(),
        profileId: new ObjectId(keep),
        anonymousId: null,
        state: 'waiting',
        event: { messageId: 'z', name: 'add_to_cart', timestamp: now, properties: {} },
        enteredAt: now,
        fireAt: now,
        updatedAt: now,
      },
    ]);
    const delivery = (target: string) => ({ siteId, kind: 'email', status: 'sent', target, attempt: 1, at: now });
    await t.db.collection('deliveries').insertMany([delivery('erase@example.com'), delivery('keep@example.com')]);
    // what could not be processed also names people: an event of theirs, an e-mail to them, someone else's event
    const letter = (payload: Record<string, unknown>) => ({
      queue: 'ingest',
      siteId,
      reason: 'x',
      attempts: 12,
      payload,
      failedAt: now,
    });
    await t.db
      .collection('dead_letters')
      .insertMany([
        letter({ messageId: 'dl-1', anonymousId: anon, profileId: null }),
        { ...letter({ entryId: 'e', to: 'erase@example.com' }), queue: 'triggers' },
        letter({ messageId: 'dl-2', anonymousId: 'someone-else', profileId: null }),
      ]);
    // a campaign trigger's re-entry guard for the person's visitor id
    const trigger = await t.db
      .collection('triggers')
      .insertOne({ siteId, name: 'x', active: true, entryEvent: 'add_to_cart' });
    await t.db.collection<{ _id: string }>('trigger_visitors').insertMany([
      { _id: `${trigger.insertedId.toHexString()}:${anon}`, lastEnteredAt: now, lastEntry: 'e' },
      { _id: `${trigger.insertedId.toHexString()}:someone-else`, lastEnteredAt: now, lastEntry: 'f' },
    ]);

    const res = await api('DELETE', `/api/profiles/${id}`);
    expect(res.status).toBe(200);
    // 2 anonymous events back-filled at identify, the unlinked one, identify, order, view_plan
    expect(res.body).toEqual({
      deleted: {
        profiles: 1,
        events: 6,
        identities: 1,
        triggerEntries: 2,
        deliveries: 1,
        deadLetters: 2,
        triggerVisitors: 1,
        queuedEvents: 0,
        queuedDeliveries: 0,
      },
    });
    expect(await t.db.collection('dead_letters').countDocuments({ 'payload.anonymousId': 'someone-else' })).toBe(1);
    expect(await t.db.collection('trigger_visitors').countDocuments()).toBe(1);
    // a second erasure finds nobody
    expect((await api('DELETE', `/api/profiles/${id}`)).status).toBe(404);

    expect(await profiles().countDocuments({ email: 'erase@example.com' })).toBe(0);
    expect(await events().countDocuments({ $or: [{ profileId: profile._id }, { anonymousId: anon }] })).toBe(0);
    expect(await events().countDocuments({ 'properties.orderId': 'erase-order' })).toBe(0);
    expect(await identities().countDocuments({ $or: [{ profileId: profile._id }, { anonymousId: anon }] })).toBe(0);
    expect(JSON.stringify(await events().find({}).toArray())).not.toContain('erase@example.com');
    expect((await api('GET', `/api/profiles/${id}`)).status).toBe(404);
    expect((await api('DELETE', `/api/profiles/${id}`)).status).toBe(404);
    expect(await events().countDocuments({ profileId: new ObjectId(keep) })).toBe(keepBefore);
    expect((await api('GET', `/api/profiles/${keep}`)).status).toBe(200);
    expect(
      await t.db
        .collection('trigger_entries')
        .find({})
        .map((e) => e._id)
        .toArray(),
    ).toEqual(['tr1:keep']);
    expect(
      await t.db
        .collection('deliveries')
        .find({})
        .map((d) => d.target)
        .toArray(),
    ).toEqual(['keep@example.com']);
  });

  it('export holds the profile, its consent history and every event, anonymous ones before identification included', async () => {
    const anon = 'anon-export-1';
    const early = clientEvent({ anonymousId: anon, timestamp: '2026-02-01T10:00:00.000Z' });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [early] })).status).toBe(202);
    await waitFor(() => events().findOne({ messageId: early.messageId }));
    const form = clientEvent({
      anonymousId: anon,
      name: 'form_submit',
      properties: { formId: 'signup', fields: { email: 'export@example.com', firstName: 'Ex', accept_terms: true } },
    });
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [form] })).status).toBe(202);
    await waitFor(() => events().findOne({ messageId: form.messageId }));
    const profile = await waitFor(() => profiles().findOne({ email: 'export@example.com' }));
    const id = profile._id.toString();
    const now = new Date().toISOString();
    await track({ ...specOrder(), orderId: 'export-order', profile: { email: 'export@example.com' }, timestamp: now });
    await waitFor(() => events().findOne({ 'properties.orderId': 'export-order' }));
    await api('PATCH', `/api/profiles/${id}`, { consent: { email: false } });

    const res = await api('GET', `/api/profiles/${id}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain(`profile-${id}.json`);
    expect(res.body.profile).toMatchObject({
      id,
      email: 'export@example.com',
      firstName: 'Ex',
      consent: { email: false },
    });
    expect(res.body.profile.consentHistory.map((c: { email: boolean; source: string }) => [c.email, c.source])).toEqual(
      [
        [true, 'form'],
        [false, 'api'],
      ],
    );
    const exported = res.body.events as Array<{ messageId: string; name: string; properties: Record<string, unknown> }>;
    expect(exported.map((e) => e.name)).toEqual(['page_view', 'form_submit', 'order_placed']);
    expect(exported[0]!.messageId).toBe(early.messageId);
    expect(exported[2]!.properties.orderId).toBe('export-order');
  });

  it('a person with more visitor ids than one `$in` query holds is exported and erased whole, window by window', async () => {
    // 1,500 visitor ids (more than IN_QUERY_IDS): their unlinked documents are matched in memory, not with `$in`
    const siteId = new ObjectId(t.site.siteId);
    const profileId = new ObjectId();
    const now = new Date();
    const own = ['many-own-1', 'many-own-2'];
    const linked = Array.from({ length: 1_500 }, (_, i) => `many-${i}`);
    await profiles().insertOne({
      _id: profileId,
      siteId,
      email: 'many@example.com',
      emailKey: `${t.site.siteId}|many@example.com`,
      consent: { email: false },
      consentHistory: [],
      anonymousIds: own,
      createdAt: now,
      updatedAt: now,
    });
    await identities().insertMany(
      [...own, ...linked].map((anonymousId, i) => ({
        _id: `${t.site.siteId}:${anonymousId}` as never,
        siteId,
        anonymousId,
        profileId,
        linkedAt: new Date(now.getTime() - i * 1_000),
      })),
    );
    const event = (messageId: string, anonymousId: string, owner: ObjectId | null, minutes: number) => ({
      siteId,
      messageId,
      anonymousId,
      profileId: owner,
      name: 'page_view',
      timestamp: new Date(now.getTime() - minutes * 60_000),
      receivedAt: now,
      properties: {},
    });
    // every 10th visitor id has an event stored before its link (profileId null), the others linked ones
    const mine = linked.map((v, i) => event(`many-e-${i}`, v, i % 10 ? profileId : null, i));
    mine.push(event('many-own-e', own[1]!, null, 5_000));
    // another person's event of one of the ids (a shared device they identified on) and a stranger's
    const other = new ObjectId();
    const decoys = [event('many-decoy-1', linked[3]!, other, 1), event('many-decoy-2', 'many-stranger', null, 1)];
    await events().insertMany([...mine, ...decoys]);
    const entry = (_id: string, anonymousId: string) => ({
      _id,
      siteId,
      triggerId: new ObjectId(),
      profileId: null,
      anonymousId,
      state: 'waiting',
      event: { messageId: _id, name: 'add_to_cart', timestamp: now, properties: {} },
      enteredAt: now,
      fireAt: now,
      updatedAt: now,
    });
    await t.db
      .collection<{ _id: string }>('trigger_entries')
      .insertMany([entry('many-t1', linked[1_400]!), entry('many-t2', own[0]!), entry('many-t3', 'many-stranger')]);
    const letter = (anonymousId: string) => ({
      queue: 'ingest',
      siteId,
      reason: 'x',
      attempts: 12,
      payload: { messageId: `dl-${anonymousId}`, anonymousId, profileId: null },
      failedAt: now,
    });
    await t.db.collection('dead_letters').insertMany([letter(linked[1_499]!), letter('many-stranger')]);
    const trigger = (await t.db.collection('triggers').insertOne({ siteId, name: 'many', active: true })).insertedId;
    const guard = (v: string) => ({ _id: `${trigger.toHexString()}:${v}`, lastEnteredAt: now, lastEntry: 'e' });
    await t.db
      .collection<{ _id: string }>('trigger_visitors')
      .insertMany([guard(linked[0]!), guard(linked[999]!), guard(own[1]!), guard('many-stranger')]);

    const exported = await api('GET', `/api/profiles/${profileId.toHexString()}/export`);
    expect(exported.status).toBe(200);
    const ids = (exported.body.events as Array<{ messageId: string }>).map((e) => e.messageId);
    expect(ids).toHaveLength(mine.length);
    expect(new Set(ids)).toEqual(new Set(mine.map((e) => e.messageId)));
    // the linked events come first, oldest first
    const linkedIds = mine.filter((e) => e.profileId).sort((a, b) => +a.timestamp - +b.timestamp);
    expect(ids.slice(0, linkedIds.length)).toEqual(linkedIds.map((e) => e.messageId));

    const erased = await api('DELETE', `/api/profiles/${profileId.toHexString()}`);
    expect(erased.status).toBe(200);
    expect(erased.body.deleted).toMatchObject({
      profiles: 1,
      events: mine.length,
      identities: linked.length + own.length,
      triggerEntries: 2,
      deadLetters: 1,
      triggerVisitors: 3,
    });
    expect(await events().countDocuments({ messageId: { $regex: '^many-' } })).toBe(2);
    expect(await events().countDocuments({ messageId: { $in: ['many-decoy-1', 'many-decoy-2'] } })).toBe(2);
    expect(await t.db.collection('trigger_entries').countDocuments({ _id: { $regex: '^many-' } } as never)).toBe(1);
    expect(await t.db.collection('dead_letters').countDocuments({ 'payload.anonymousId': 'many-stranger' })).toBe(1);
    expect(
      await t.db
        .collection<{ _id: string }>('trigger_visitors')
        .find({ _id: { $regex: `^${trigger.toHexString()}:` } })
        .map((g) => g._id)
        .toArray(),
    ).toEqual([`${trigger.toHexString()}:many-stranger`]);
    expect(await identities().countDocuments({ profileId })).toBe(0);
  }, 180_000);

  it('reads visitor ids in windows of about the size asked, each id once', async () => {
    const siteId = new ObjectId(t.site.siteId);
    const profileId = new ObjectId();
    const linked = Array.from({ length: 250 }, (_, i) => `win-${i}`);
    await identities().insertMany(
      linked.map((anonymousId) => ({
        _id: `${t.site.siteId}:${anonymousId}` as never,
        siteId,
        anonymousId,
        profileId,
        linkedAt: new Date(),
      })),
    );
    const profile = { _id: profileId, siteId, anonymousIds: ['win-3', 'win-own'] } as unknown as ProfileDoc;
    const windows: string[][] = [];
    for await (const w of visitorIdWindows(t.app.models, profile, 100)) windows.push(w);
    // 251 ids in windows of about 100: three, none far from its share
    expect(windows).toHaveLength(3);
    for (const w of windows) expect(w.length).toBeGreaterThan(50);
    expect(windows.flat()).toHaveLength(251);
    expect(new Set(windows.flat())).toEqual(new Set([...linked, 'win-own']));
    await identities().deleteMany({ profileId });
  });

  it('documents every profile route in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${t.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/api/profiles'] ?? {})).toContain('get');
    expect(Object.keys(doc.paths['/api/profiles/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
    expect(Object.keys(doc.paths['/api/profiles/{id}/events'] ?? {})).toContain('get');
    expect(Object.keys(doc.paths['/api/profiles/{id}/export'] ?? {})).toContain('get');
  });
});
