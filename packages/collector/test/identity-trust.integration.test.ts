import { randomUUID } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmUrl } from '../src/campaigns/consent-confirmation.js';
import { loadSigningSecret } from '../src/campaigns/index.js';
import { unsubscribeUrl } from '../src/campaigns/unsubscribe-links.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

const LINK_CAP = 5;

/** What a stranger holding only the public write key can and cannot do to someone else's profile. */
describe('identity trust: only a backend binds a userId to an e-mail', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(t.url, t.site.secretKey, method, path, body);
  const server = async (body: Record<string, unknown>) => {
    const res = await admin('POST', '/api/track/server-event', body);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await stored(`srv:${body.messageId}`);
  };
  const browser = async (event: Record<string, unknown>) => {
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, batch: [event] });
    expect(res.status).toBe(202);
    return stored(event.messageId as string);
  };
  const profiles = () => t.db.collection('profiles');
  const events = () => t.db.collection('events');
  const stored = (messageId: string) =>
    waitFor(() => events().findOne({ messageId }), 20_000, `event ${messageId}`) as Promise<Record<string, unknown>>;
  const uid = () => `user-${randomUUID().slice(0, 8)}`;
  const mail = (who: string) => `${who}-${randomUUID().slice(0, 8)}@example.com`;
  const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.includes(address));

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startTestApp({
      env: { SMTP_URL: smtp.url, TRACKMATE_JOB_BACKOFF_MS: '50', TRACKMATE_LINKS_PER_PROFILE_DAY: String(LINK_CAP) },
    });
    const trigger = await admin('POST', '/api/triggers', {
      name: 'Abandoned cart',
      entryEvent: 'add_to_cart',
      delaySeconds: 1,
      exitEvents: ['order_placed'],
      reentryHours: 24,
      action: { type: 'email', subject: 'Your cart', body: 'Still want {{event.properties.productId}}?' },
    });
    expect(trigger.status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it("a stranger's identify pairing the real user's userId with their own e-mail binds nothing; the backend's binding stands", async () => {
    const userId = uid();
    const attacker = mail('attacker');
    const real = mail('real');
    // the attacker identifies first, from their own browser, with the real user's account id
    await browser(
      clientEvent({ name: 'identify', anonymousId: `a-${userId}`, properties: { userId, email: attacker } }),
    );
    const claimed = await profiles().findOne({ userId });
    expect(claimed?.email).toBeUndefined();
    expect(claimed?.unverifiedEmail?.email).toBe(attacker); // recorded, as unverified
    const api = await admin('GET', `/api/profiles/${claimed!._id}`);
    expect(api.body.unverifiedEmail.email).toBe(attacker);
    expect(api.body.email).toBeUndefined();
    // the address still has a profile of its own (an identify with an e-mail creates it)
    expect((await profiles().findOne({ email: attacker }))?.userId).toBeUndefined();

    // the real user signs in (browser), then the shop's backend sends its event with the real address
    const realVisitor = `r-${userId}`;
    await browser(
      clientEvent({
        name: 'identify',
        anonymousId: realVisitor,
        properties: { userId, email: real, firstName: 'Rea' },
      }),
    );
    await server({ event: 'signed_in', messageId: `in-${userId}`, userId, email: real });
    const theirs = await profiles().find({ userId }).toArray();
    expect(theirs).toHaveLength(1);
    expect(theirs[0]).toMatchObject({ userId, email: real, firstName: 'Rea' });
    expect(theirs[0]!.unverifiedEmail).toBeUndefined(); // settled by the backend
    expect(await profiles().countDocuments({ email: real })).toBe(1);
    // the attacker's address is still on its own profile, tied to nobody
    const attackers = await profiles().findOne({ email: attacker });
    expect(attackers?.userId).toBeUndefined();
    expect(attackers!._id.equals(theirs[0]!._id)).toBe(false);
  });

  it("knowing only a victim's e-mail, a browser cannot tie a fresh account to the victim's profile; the victim's data, consent and mail stay theirs", async () => {
    const victim = mail('victim');
    const attacker = mail('attacker');
    const victimVisitor = `v-${randomUUID()}`;
    // the victim: a profile by e-mail with consent from the shop's backend, and a browser visitor linked to it
    await server({ event: 'identify', messageId: `v-${victim}`, profile: { email: victim, consent: { email: true } } });
    await browser(clientEvent({ name: 'identify', anonymousId: victimVisitor, properties: { email: victim } }));
    const before = await profiles().findOne({ email: victim });
    expect(before?.consent.email).toBe(true);

    // the attacker: a fresh account on the shop, then a browser identify pairing it with the victim's address
    const account = uid();
    await server({ event: 'signup', messageId: `acc-${account}`, userId: account, email: attacker });
    await browser(
      clientEvent({ name: 'identify', anonymousId: `x-${account}`, properties: { userId: account, email: victim } }),
    );
    expect((await profiles().findOne({ userId: account }))?.unverifiedEmail?.email).toBe(victim);
    // the shop backend's next ordinary event for that account
    await server({ event: 'profile_viewed', messageId: `pv-${account}`, userId: account, email: attacker });

    const after = await profiles().findOne({ _id: before!._id });
    expect(after).toMatchObject({ email: victim, consent: { email: true } });
    expect(after!.userId).toBeUndefined();
    expect((await profiles().findOne({ userId: account }))?.email).toBe(attacker);
    // the victim's history is still theirs: export by their id holds their identify, the attacker's holds none of it
    const exported = await admin('GET', `/api/profiles/${before!._id}/export`);
    expect(exported.body.events.some((e: { anonymousId: string }) => e.anonymousId === victimVisitor)).toBe(true);
    const attackerProfile = await profiles().findOne({ userId: account });
    const theirExport = await admin('GET', `/api/profiles/${attackerProfile!._id}/export`);
    expect(theirExport.body.events.some((e: { anonymousId: string }) => e.anonymousId === victimVisitor)).toBe(false);

    // the victim's abandoned cart is mailed to the victim, never to the attacker
    await browser(
      clientEvent({
        name: 'add_to_cart',
        anonymousId: victimVisitor,
        properties: { productId: 'victim-basket', quantity: 1, price: 5 },
      }),
    );
    await waitFor(() => mailsTo(victim).find((m) => m.decoded.includes('victim-basket')), 20_000, 'the victim’s mail');
    expect(smtp.mails.filter((m) => m.decoded.includes('victim-basket')).flatMap((m) => m.to)).toEqual([victim]);
    expect(mailsTo(attacker)).toEqual([]);
  });

  it('links sent before a merge (unsubscribe, confirmation, export, the profile API) act on the surviving profile; a link to nobody says so', async () => {
    const userId = uid();
    const email = mail('merged');
    await server({ event: 'identify', messageId: `m-${email}`, profile: { email, consent: { email: true } } });
    await server({ event: 'identify', messageId: `mu-${userId}`, userId });
    const fromId = (await profiles().findOne({ email }))!._id as Types.ObjectId;
    const intoId = (await profiles().findOne({ userId }))!._id as Types.ObjectId;
    // an e-mail already sent with the e-mail profile's unsubscribe link
    const secret = await loadSigningSecret(t.app.models, t.config);
    const link = unsubscribeUrl(t.config, secret, t.site.siteId, fromId.toHexString()).replace(
      t.config.publicUrl,
      t.url,
    );
    // the backend joins them: the e-mail's profile is merged into the userId's
    await server({ event: 'identify', messageId: `join-${userId}`, userId, email });
    await waitFor(async () => !(await profiles().findOne({ _id: fromId })), 20_000, 'the merge');
    expect((await profiles().findOne({ _id: intoId }))?.consent.email).toBe(true);

    const page = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('You are unsubscribed');
    expect((await profiles().findOne({ _id: intoId }))?.consent).toMatchObject({ email: false, source: 'unsubscribe' });

    // a double opt-in confirmation link of the merged profile records consent on the survivor too
    const confirm = confirmUrl(t.config, secret, t.site.siteId, fromId.toHexString(), Date.now()).replace(
      t.config.publicUrl,
      t.url,
    );
    const confirmed = await fetch(confirm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(confirmed.status).toBe(200);
    expect((await profiles().findOne({ _id: intoId }))?.consent).toMatchObject({ email: true, source: 'confirmation' });

    const viaOld = await admin('GET', `/api/profiles/${fromId}`);
    expect(viaOld.status).toBe(200);
    expect(viaOld.body).toMatchObject({ id: intoId.toHexString(), email, userId });
    const exported = await admin('GET', `/api/profiles/${fromId}/export`);
    expect(exported.body.profile.id).toBe(intoId.toHexString());
    expect(exported.body.events.map((e: { messageId: string }) => e.messageId)).toContain(`srv:m-${email}`);

    // a genuine link whose profile is gone: nothing recorded, and the page does not claim otherwise
    const gone = new Types.ObjectId().toHexString();
    const nobody = unsubscribeUrl(t.config, secret, t.site.siteId, gone).replace(t.config.publicUrl, t.url);
    const none = await fetch(nobody, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(none.status).toBe(404);
    expect(await none.text()).not.toContain('You are unsubscribed');
  });

  it(`a browser links at most ${LINK_CAP} new visitor ids a day to one profile; the rest are counted, their events still stored`, async () => {
    const email = mail('many');
    const visitors = Array.from({ length: LINK_CAP + 4 }, (_, i) => `many-${i}-${randomUUID()}`);
    for (const anonymousId of visitors) {
      await browser(clientEvent({ name: 'identify', anonymousId, properties: { email } }));
    }
    const profile = await profiles().findOne({ email });
    const linked = await t.db.collection('identities').countDocuments({ profileId: profile!._id });
    expect(linked).toBe(LINK_CAP);
    expect(profile!.anonymousIds).toHaveLength(LINK_CAP);
    expect(await events().countDocuments({ anonymousId: { $in: visitors } })).toBe(visitors.length);
    const metric = await t.app.prometheus.registry.getSingleMetricAsString('trackmate_identity_links_capped_total');
    expect(metric).toMatch(/trackmate_identity_links_capped_total 4/);
    // a backend's event is not capped
    const late = `late-${randomUUID()}`;
    await server({ event: 'seen', messageId: `late-${email}`, email, anonymousId: late });
    expect(await t.db.collection('identities').countDocuments({ profileId: profile!._id })).toBe(LINK_CAP + 1);
  });

  it('export and erasure of a person with thousands of visitor ids read them a page at a time and miss none', async () => {
    const email = mail('pages');
    await server({ event: 'identify', messageId: `p-${email}`, email });
    const profile = (await profiles().findOne({ email }))!;
    const siteId = new Types.ObjectId(t.site.siteId);
    const n = 2_100; // more than two pages of visitor ids and of events
    const ids = Array.from({ length: n }, (_, i) => `pv-${i}-${randomUUID()}`);
    const now = new Date();
    await t.db.collection('identities').insertMany(
      ids.map((anonymousId) => ({
        _id: `${t.site.siteId}:${anonymousId}` as unknown as Types.ObjectId,
        siteId,
        anonymousId,
        profileId: profile._id,
        linkedAt: now,
      })),
    );
    // half of them left an anonymous event before they were linked (profileId null), half a linked one
    await t.db.collection('events').insertMany(
      ids.map((anonymousId, i) => ({
        siteId,
        messageId: `pe-${anonymousId}`,
        profileId: i % 2 ? profile._id : null,
        anonymousId,
        sessionId: null,
        name: 'page_view',
        timestamp: new Date(now.getTime() - i * 1000),
        receivedAt: now,
        properties: {},
        source: 'client',
        userAgent: null,
        ip: null,
      })),
    );
    const exported = await admin('GET', `/api/profiles/${profile._id}/export`);
    expect(exported.status).toBe(200);
    const messageIds = new Set(exported.body.events.map((e: { messageId: string }) => e.messageId));
    expect(messageIds.size).toBe(n + 1);
    for (const id of ids) expect(messageIds.has(`pe-${id}`)).toBe(true);

    const erased = await admin('DELETE', `/api/profiles/${profile._id}`);
    expect(erased.status).toBe(200);
    expect(erased.body.deleted).toMatchObject({ profiles: 1, events: n + 1, identities: n });
    expect(await events().countDocuments({ anonymousId: { $in: ids } })).toBe(0);
  }, 300_000);
});
