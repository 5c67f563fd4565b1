import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './helpers/admin.js';
import { clientEvent, postEvents, startTestApp, type TestApp, waitFor } from './helpers/harness.js';
import { cli, type LocalCluster, startRedisCluster } from './helpers/redis-cluster.js';

/**
 * The collector on a Redis Cluster (3 masters on 127.0.0.1): REDIS_URL=redis+cluster://…, every key under the
 * `{prefix}` hash tag so BullMQ's scripts and the multi-key commands find their keys on one node.
 */
let cluster: LocalCluster;
let t: TestApp;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  t = await startTestApp({
    // rate limits on, so their Lua scripts run on the cluster too
    env: { REDIS_URL: cluster.url, TRACKMATE_RATE_LIMIT_KEY: '100000', TRACKMATE_RATE_LIMIT_IP: '100000' },
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await cluster?.stop();
});

describe('on a Redis Cluster', () => {
  it('prefixes every key with a hash tag', () => {
    expect(t.config.queuePrefix).toMatch(/^\{tmtest_[0-9a-f]+\}$/);
  });

  it('answers /ready and takes events through the queue into MongoDB, rolled up', async () => {
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
    const batch = Array.from({ length: 20 }, (_, i) => clientEvent({ anonymousId: `cluster-${i % 4}` }));
    const res = await postEvents(t.url, { writeKey: t.site.writeKey, sentAt: new Date().toISOString(), batch });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 20, rejected: [] });
    const ids = batch.map((e) => e.messageId as string);
    await waitFor(
      async () => (await t.db.collection('events').countDocuments({ messageId: { $in: ids } })) === 20,
      20_000,
      '20 stored events',
    );
    // the worker's roll-ups (HyperLogLogs for distinct visitors, a lock, Lua) ran on the cluster as well
    const rollup = await waitFor(
      () => t.db.collection('metrics_daily').findOne({ name: 'page_view', count: { $gte: 20 } }),
      20_000,
      'the page_view roll-up',
    );
    expect(rollup).toBeTruthy();
  });

  it('reads Redis memory from the masters for backpressure', async () => {
    const share = await waitFor(
      async () => {
        const metrics = await (await fetch(`${t.url}/metrics`)).text();
        return Number(/^trackmate_redis_memory_share (\S+)$/m.exec(metrics)?.[1] ?? 0);
      },
      5_000,
      'a Redis memory share',
    );
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(0.8);
  });

  it("keeps the installation's keys in the hash tag's slot", async () => {
    const tag = t.config.queuePrefix.slice(1, -1);
    const slot = Number(await cli(cluster.ports[0]!, 'cluster', 'keyslot', tag));
    const counts = await Promise.all(
      cluster.ports.map((p) => cli(p, '--scan', '--pattern', `${t.config.queuePrefix}*`)),
    );
    const keys = counts.flatMap((c) => c.split('\n').filter(Boolean));
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(Number(await cli(cluster.ports[0]!, 'cluster', 'keyslot', key))).toBe(slot);
  });

  it("deleting a site removes its visitor sketches from the cluster's master that holds them", async () => {
    const res = await adminCall(t.url, t.site.secretKey, 'DELETE', `/api/site?confirm=${t.site.siteId}`);
    expect(res.status).toBe(200);
    expect(res.body.deleted.visitorSketches).toBeGreaterThan(0);
    const left = await Promise.all(
      cluster.ports.map((p) => cli(p, '--scan', '--pattern', `${t.config.queuePrefix}:visitors:${t.site.siteId}:*`)),
    );
    expect(left.join('').trim()).toBe('');
  });
});
