import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../src/webhooks/outgoing.js';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { startReceiver } from './helpers/webhook-receiver.js';

describe('webhooks cannot reach the collector’s own network', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver(() => 200);
    t = await startTestApp({ env: { TRACKMATE_WEBHOOK_ALLOW_PRIVATE: 'false', TRACKMATE_JOB_BACKOFF_MS: '50' } });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('knows the ranges: loopback, link-local (metadata), private, unique-local, mapped, NAT64, 6to4', () => {
    for (const a of [
      '127.0.0.1',
      '169.254.169.254',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.0.10',
      '100.64.0.1',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1', // the same, as the URL parser writes it
      '::ffff:a9fe:a9fe',
      '::127.0.0.1',
      '0.0.0.0',
      // NAT64 and 6to4 carry an IPv4 address inside (regression: they were let through)
      '64:ff9b::7f00:1',
      '64:ff9b::169.254.169.254',
      '64:ff9b::a00:1',
      '64:ff9b:1::1',
      '2002:7f00:1::',
      '2002:a9fe:a9fe::1',
      '2002:c0a8:0001:0:0:0:0:1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of [
      '93.184.216.34',
      '8.8.8.8',
      '2606:4700::1111',
      '172.32.0.1',
      '64:ff9b::808:808',
      '2002:5db8:d822::1',
      '::ffff:8.8.8.8',
    ])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it('refuses a delivery to a loopback receiver (by name and by address): recorded as failed, not retried, dead-lettered, nothing sent', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      adminCall(t.url, t.site.secretKey, method, path, body);
    const byName = receiver.url.replace('127.0.0.1', 'localhost');
    const nat64 = receiver.url.replace('127.0.0.1', '[64:ff9b::7f00:1]');
    const sixToFour = receiver.url.replace('127.0.0.1', '[2002:7f00:1::1]');
    for (const url of [receiver.url, byName, nat64, sixToFour]) {
      expect((await admin('POST', '/api/webhooks', { url, events: ['page_view'] })).status).toBe(201);
    }
    const event = clientEvent();
    expect((await postEvents(t.url, { writeKey: t.site.writeKey, batch: [event] })).status).toBe(202);
    const deliveries = await waitFor(
      async () => {
        const docs = await t.db.collection('deliveries').find({ kind: 'webhook' }).toArray();
        return docs.length >= 4 ? docs : null;
      },
      15_000,
      'four refused deliveries',
    );
    await new Promise((r) => setTimeout(r, 500)); // a retry would land now
    expect(await t.db.collection('deliveries').countDocuments({ kind: 'webhook' })).toBe(4);
    for (const d of deliveries) {
      expect(d.status).toBe('failed');
      expect(d.responseCode).toBeNull();
      expect(d.error).toMatch(/private address: refused/);
    }
    expect(await t.db.collection('dead_letters').countDocuments({ queue: 'webhooks' })).toBe(4);
    expect(receiver.requests).toHaveLength(0);
  });
});
