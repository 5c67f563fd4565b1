import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { poll, type RealCollector, startRealCollector } from '../../../packages/node/test/helpers/real-collector.js';

// What the README promises: run against a collector with its secret key, a checkout lands as one
// order_placed linked to the buyer's profile, and the same checkout sent twice is stored once.
const serverJs = fileURLToPath(new URL('../server.js', import.meta.url));
let collector: RealCollector;
let child: ChildProcess;
let url = '';

beforeAll(async () => {
  collector = await startRealCollector();
  child = spawn(process.execPath, [serverJs], {
    env: { ...process.env, PORT: '0', TRACKMATE_SECRET_KEY: collector.site.secretKey, TRACKMATE_HOST: collector.host },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  url = await poll(
    async () => /listening on (http:\S+),/.exec(output)?.[1] ?? '',
    (found) => found !== '',
    20_000,
  );
  expect(url, output).not.toBe('');
}, 300_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await collector?.stop();
});

it('stores a checkout sent twice as one order_placed linked to the buyer', { timeout: 180_000 }, async () => {
  const checkout = {
    orderId: 'ORD-1001',
    email: 'asha@example.com',
    firstName: 'Asha',
    lastName: 'Rao',
    phone: '+911234567890',
    items: [{ name: 'Mug', sku: 'MUG-1', amount: 10, tax: 1.8, discount: 0 }],
  };
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${url}/checkout`, { method: 'POST', body: JSON.stringify(checkout) });
    expect(res.status).toBe(201);
  }
  // A graceful stop delivers what the example's SDK still holds.
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);

  const events = collector.db.collection('events');
  const person = await poll(
    () => collector.db.collection('profiles').findOne({ email: 'asha@example.com' }),
    (p) => p !== null,
  );
  expect(person, collector.log()).toMatchObject({ firstName: 'Asha', lastName: 'Rao', phone: '+911234567890' });
  const orders = await poll(
    () => events.find({ name: 'order_placed' }).toArray(),
    (list) => list.length > 0,
  );
  // Both requests were accepted; give the worker time to process the second before counting.
  await new Promise((r) => setTimeout(r, 2000));
  expect(await events.countDocuments({ name: 'order_placed' })).toBe(1);
  expect(String(orders[0]?.profileId)).toBe(String(person?._id));
  expect(JSON.stringify(orders[0])).toContain('ORD-1001');
});
