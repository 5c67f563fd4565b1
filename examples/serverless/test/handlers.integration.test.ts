import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll, type RealCollector, startRealCollector } from '../../../packages/node/test/helpers/real-collector.js';

const run = promisify(execFile);
const here = (file: string) => fileURLToPath(new URL(`../${file}`, import.meta.url));

// Each handler of the README against the real collector, invoked twice as a warm instance would be: both
// invocations' events arrive before the handler returns (flush, not close).
describe('serverless and edge handlers', () => {
  let collector: RealCollector;
  const events = () => collector.db.collection('events');
  const order = (orderId: string, email: string) => ({
    orderId,
    profile: { email, firstName: 'Lee' },
    items: [{ name: 'Mug', sku: 'MUG-1', amount: 10, tax: 0, discount: 0 }],
    orderTotal: 10,
  });
  beforeAll(async () => {
    collector = await startRealCollector();
    process.env.TRACKMATE_SECRET_KEY = collector.site.secretKey;
    process.env.TRACKMATE_HOST = collector.host;
  }, 300_000);
  afterAll(async () => {
    await collector?.stop();
  });

  it('AWS Lambda: each invocation’s order is delivered before the handler returns', { timeout: 120_000 }, async () => {
    const { handler } = await import(here('lambda.mjs'));
    for (const id of ['L-1', 'L-2']) {
      const res = await handler({ body: JSON.stringify(order(id, 'lambda@example.com')) });
      expect(res.statusCode).toBe(200);
    }
    const stored = await poll(
      () => events().countDocuments({ name: 'order_placed', 'properties.orderId': { $in: ['L-1', 'L-2'] } }),
      (n) => n === 2,
      60_000,
    );
    expect(stored).toBe(2);
  });

  it('Next.js route handler and server action: a userId signup and an order', { timeout: 120_000 }, async () => {
    const { POST } = await import(here('next-route.mjs'));
    const { placeOrder } = await import(here('next-action.mjs'));
    const res = await POST(
      new Request('http://shop.test/api/signup', {
        method: 'POST',
        body: JSON.stringify({ userId: 'acct-42', email: 'route@example.com', plan: 'pro' }),
      }),
    );
    expect(res.status).toBe(200);
    expect(await placeOrder(order('A-1', 'action@example.com'))).toEqual({ ok: true });
    await poll(
      () =>
        events().countDocuments({
          name: { $in: ['signup', 'order_placed'] },
          $or: [{ 'properties.plan': 'pro' }, { 'properties.orderId': 'A-1' }],
        }),
      (n) => n === 2,
      60_000,
    );
    const profile = await collector.db.collection('profiles').findOne({ userId: 'acct-42' });
    expect(profile?.email).toBe('route@example.com');
  });

  it('Cloudflare Worker: runs where node: imports throw, the flush handed to waitUntil', {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tm-worker-'));
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { builtinModules } from 'node:module';
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) throw new Error('edge runtime: no ' + specifier);
  return next(specifier, context);
}
`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
    );
    const script = join(dir, 'invoke.mjs');
    writeFileSync(
      script,
      `const { default: worker } = await import(${JSON.stringify(here('worker.mjs'))});
const env = { TRACKMATE_SECRET_KEY: ${JSON.stringify(collector.site.secretKey)}, TRACKMATE_HOST: ${JSON.stringify(collector.host)} };
for (const path of ['/a', '/b']) {
  const pending = [];
  const res = await worker.fetch(new Request('https://api.test' + path, { headers: { 'x-user-id': 'w-1' } }), env, { waitUntil: (p) => pending.push(p) });
  if (res.status !== 200) throw new Error('status ' + res.status);
  await Promise.all(pending);
}
console.log('done');
`,
    );
    const { stdout } = await run(process.execPath, ['--import', join(dir, 'register.mjs'), script], {
      timeout: 60_000,
    });
    expect(stdout).toContain('done');
    await poll(
      () => events().countDocuments({ name: 'api_call', 'properties.path': { $in: ['/a', '/b'] } }),
      (n) => n === 2,
      60_000,
    );
  });
});
