import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { signWebhookPayload } from '../../../packages/node/src/index.js';
import {
  SECRET_KEY,
  type StubCollector,
  startStubCollector,
  until,
} from '../../../packages/node/test/helpers/stub-collector.js';

// Runs the example as a user would (node server.js, with the built @trackmate/node) against a stub collector.
const serverJs = fileURLToPath(new URL('../server.js', import.meta.url));
let child: ChildProcess | undefined;
let stub: StubCollector | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await stub?.close();
});

async function startExample(env: Record<string, string> = {}) {
  stub = await startStubCollector();
  child = spawn(process.execPath, [serverJs], {
    env: { ...process.env, PORT: '0', TRACKMATE_SECRET_KEY: SECRET_KEY, TRACKMATE_HOST: stub.host, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  await until(() => /listening on (http:\S+),/.test(output), 10_000);
  const url = /listening on (http:\S+),/.exec(output)?.[1] ?? '';
  return { url, stub, output: () => output };
}

const order = {
  orderId: 'ORD-42',
  email: 'asha@example.com',
  firstName: 'Asha',
  items: [{ name: 'Mug', sku: 'MUG-1', amount: 10, tax: 1.8, discount: 0.5 }],
};

it('POST /checkout reports the order to the collector as order_placed', async () => {
  const { url, stub } = await startExample();
  const res = await fetch(`${url}/checkout`, { method: 'POST', body: JSON.stringify(order) });
  expect(res.status).toBe(201);
  expect(await res.json()).toEqual({ orderId: 'ORD-42', orderTotal: 11.3 });
  await until(() => stub.events().length === 1, 5000);
  expect(stub.requests[0]?.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
  expect(stub.events()[0]).toMatchObject({
    event: 'order_placed',
    orderId: 'ORD-42',
    orderTotal: 11.3,
    profile: { email: 'asha@example.com', firstName: 'Asha' },
  });
});

it('delivers a queued order on SIGTERM before exiting', async () => {
  const { url, stub } = await startExample();
  await fetch(`${url}/checkout`, { method: 'POST', body: JSON.stringify(order) });
  // Well inside the one-second flush interval: only the graceful shutdown can have sent it.
  expect(stub.events()).toHaveLength(0);
  child?.kill('SIGTERM');
  const [code] = await once(child as ChildProcess, 'exit');
  expect(code).toBe(0);
  expect(stub.events().map((e) => e.orderId)).toEqual(['ORD-42']);
});

it('accepts a correctly signed webhook and refuses a forged one', async () => {
  const { url } = await startExample({ TRACKMATE_WEBHOOK_SECRET: 'whsec_example' });
  const body = JSON.stringify({ name: 'order_placed', properties: { orderId: 'ORD-42' } });
  const signed = await fetch(`${url}/webhooks/trackmate`, {
    method: 'POST',
    headers: { 'x-trackmate-signature': signWebhookPayload({ body, secret: 'whsec_example' }) },
    body,
  });
  expect(signed.status).toBe(200);
  const forged = await fetch(`${url}/webhooks/trackmate`, {
    method: 'POST',
    headers: { 'x-trackmate-signature': signWebhookPayload({ body, secret: 'guess' }) },
    body,
  });
  expect(forged.status).toBe(400);
});
