import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, removeTestData, spawnCli, stopChild, waitFor } from '../helpers/harness.js';
import { freePort } from '../helpers/private-services.js';
import { SteadyLoad, settle } from './load.js';
import { type BadRequest, malformedRequests } from './malformed.js';

const TOTAL = 2_200;
const PARALLEL = 8;

/** Sends one raw request; the status, or `network` when no answer came. */
function send(url: string, agent: Agent, r: BadRequest): Promise<number | 'network'> {
  return new Promise((resolve) => {
    let status: number | undefined;
    const req = request(
      `${url}/api/track/event${r.query ?? ''}`,
      { method: 'POST', agent, headers: { ...r.headers, 'content-length': String(r.body.length) }, timeout: 15_000 },
      (res) => {
        status = res.statusCode;
        res.resume();
        res.on('end', () => resolve(status!));
        res.on('error', () => resolve(status!));
      },
    );
    // the server may answer (413) and close before the whole body is written: the answer is what counts
    req.on('error', () => resolve(status ?? 'network'));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(r.body);
  });
}

// The collector as its own process (API + worker), so "it never crashes" is observable.
describe('fault: malformed input', () => {
  const env = isolatedEnv();
  let child: ChildProcess;
  let url: string;
  let writeKey: string;
  let client: MongoClient;
  let stderr = '';

  beforeAll(async () => {
    const create = spawnCli(
      ['sites', 'create', '--name', 'Fault shop', '--origin', 'https://shop.test', '--json'],
      env,
    );
    let out = '';
    create.stdout!.on('data', (d) => (out += d));
    await once(create, 'exit');
    writeKey = (JSON.parse(out) as { writeKey: string }).writeKey;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawnCli(['start', '--port', String(port)], env);
    child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok, 30_000, 'the collector');
    client = new MongoClient(env.MONGODB_URI!);
  });
  afterAll(async () => {
    if (child) await stopChild(child);
    await client?.close();
    await removeTestData(env);
  });

  it(`answers ${TOTAL} malformed requests 4xx, stores none of them, stays up and keeps serving valid traffic`, async () => {
    const requests = malformedRequests(writeKey, TOTAL);
    expect(requests.length).toBeGreaterThanOrEqual(2_000);
    const valid = new SteadyLoad({ url, writeKey, prefix: 'ok', senders: 1, batchSize: 5, pauseMs: 50 });
    valid.start();

    const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });
    const wrong: Array<{ kind: string; status: number | 'network'; sample: string }> = [];
    const byKind = new Map<string, Record<string, number>>();
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < requests.length) {
          const r = requests[next++]!;
          const status = await send(url, agent, r);
          const counts = byKind.get(r.kind) ?? {};
          counts[status] = (counts[status] ?? 0) + 1;
          byKind.set(r.kind, counts);
          if (status === 'network' || status < 400 || status >= 500) {
            wrong.push({ kind: r.kind, status, sample: r.body.subarray(0, 160).toString('latin1') });
          }
        }
      }),
    );
    agent.destroy();
    await valid.waitForAnswers(202, 5);
    await valid.stop();

    expect(wrong.slice(0, 10), JSON.stringify(Object.fromEntries(byKind))).toEqual([]);
    expect(child.exitCode, stderr).toBeNull();
    expect((await fetch(`${url}/health`)).status).toBe(200);

    // Valid traffic alongside was never refused, and is all stored; nothing malformed is stored.
    expect([...valid.statuses.keys()]).toEqual(['202']);
    const db = client.db();
    expect(await settle(db, valid.acked, 'ok', 60_000)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(await db.collection('events').countDocuments({ messageId: { $regex: '^bad-' } })).toBe(0);
    expect(await db.collection('events').countDocuments()).toBe(valid.acked.size);
  }, 180_000);
});
