import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { SECRET_KEY, type StubCollector, startStubCollector } from './helpers/stub-collector.js';

// The built package, as users load it: `require` gets dist/cjs, `import` gets dist/esm.
// `npm test` builds first; run `npm run build -w packages/node` before running this file alone.
const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
let stub: StubCollector | undefined;
afterEach(() => stub?.close());

const sendOne = (load: string) => `
  const { TrackMate, verifyWebhookSignature, signWebhookPayload } = ${load};
  const tm = new TrackMate({ secretKey: process.env.KEY, host: process.env.HOST });
  tm.orderPlaced({ orderId: 'ORD-1', profile: { email: 'a@example.com' }, items: [{ name: 'Mug', sku: 'M', amount: 1, tax: 0, discount: 0 }], orderTotal: 1 });
  const header = signWebhookPayload({ body: 'x', secret: 's' });
  if (!verifyWebhookSignature({ body: 'x', header, secret: 's' })) process.exit(3);
  tm.close().then(() => console.log('closed'));
`;

it.each([
  ['require (CommonJS)', ['-e', sendOne("require('@trackmate/node')")]],
  ['import (ESM)', ['--input-type=module', '-e', sendOne("await import('@trackmate/node')")]],
])('works when loaded with %s from the built package', async (_, args) => {
  expect(existsSync(`${root}/dist/cjs/index.cjs`), 'packages/node is not built').toBe(true);
  stub = await startStubCollector();
  const { stdout } = await run(process.execPath, args, {
    cwd: root,
    env: { ...process.env, KEY: SECRET_KEY, HOST: stub.host },
  });
  expect(stdout.trim()).toBe('closed');
  expect(stub.events().map((e) => e.orderId)).toEqual(['ORD-1']);
});

it('has zero runtime dependencies: @trackmate/core is inlined into both builds and absent from the types', () => {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
  expect(pkg.dependencies).toBeUndefined();
  for (const dir of ['dist/esm', 'dist/cjs']) {
    const files = readdirSync(`${root}/${dir}`);
    expect(files.filter((f) => /\.(js|cjs)$/.test(f))).toEqual([dir === 'dist/esm' ? 'index.js' : 'index.cjs']);
    for (const f of files) {
      const text = readFileSync(`${root}/${dir}/${f}`, 'utf8');
      expect(text, f).not.toMatch(/['"]@trackmate\/core['"]/);
      // Only Node built-ins are loaded at run time.
      for (const [, id] of text.matchAll(/(?:from |require\()['"]([^'"]+)['"]/g))
        expect(id, f).toMatch(/^(node:|\.\/)/);
    }
  }
});
