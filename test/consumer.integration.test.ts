import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { MongoClient } from 'mongodb';
import { rollup } from 'rollup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Packed, packAll, run } from './helpers/packages.js';
import { removeRedisKeys } from './helpers/redis-keys.mjs';

/**
 * A user outside this repository: every package packed as `npm publish` would, installed from the tarballs into
 * a fresh project in the temporary directory (third-party dependencies from the npm cache or registry), then
 * used the way the READMEs say.
 */
let packDir = '';
let packed: Packed[] = [];
let app = '';
let collector: ChildProcess | undefined;

const id = randomBytes(5).toString('hex');
const mongoUri = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/trackmate');
mongoUri.pathname = `/tm_consumer_${id}`;
const env = {
  ...process.env,
  MONGODB_URI: mongoUri.toString(),
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  TRACKMATE_QUEUE_PREFIX: `tmconsumer_${id}`,
  LOG_LEVEL: 'warn',
  // nothing of the workspace may leak in
  NODE_PATH: '',
};

beforeAll(async () => {
  ({ dir: packDir, packed } = await packAll());
  app = join(packDir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }));
  // The fastest install that still resolves like a user's: the npm cache first, the registry for what it lacks.
  await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...packed.map((p) => p.tarball)],
    { cwd: app, env, maxBuffer: 64 * 1024 * 1024 },
  );
}, 240_000);

afterAll(async () => {
  if (collector && collector.exitCode === null) {
    collector.kill('SIGTERM');
    await once(collector, 'exit');
  }
  const client = new MongoClient(env.MONGODB_URI);
  await client
    .db()
    .dropDatabase()
    .catch(() => {});
  await client.close();
  await removeRedisKeys(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
  if (packDir) rmSync(packDir, { recursive: true, force: true });
});

const brotli = (code: string) =>
  brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } }).length;

/** Bundles an entry of the consumer app with rollup, resolving packages from the app's own node_modules. */
async function bundle(name: string, source: string): Promise<string> {
  const entry = join(app, `${name}.js`);
  writeFileSync(entry, source);
  const build = await rollup({
    input: entry,
    plugins: [
      nodeResolve({ browser: true, rootDir: app }),
      terser({ ecma: 2020, module: true, compress: { passes: 3 } }),
    ],
    onwarn: (warning) => {
      throw new Error(`rollup: ${warning.message}`);
    },
  });
  const { output } = await build.generate({ format: 'es' });
  await build.close();
  return output[0].code;
}

describe('a project that installs the packed packages', () => {
  it('installs every package from its tarball outside the workspace', () => {
    for (const p of packed) {
      const installed = JSON.parse(readFileSync(join(app, 'node_modules', p.name, 'package.json'), 'utf8'));
      expect(installed.version).toBe(p.manifest.version);
    }
    console.info(`tarballs: ${packed.map((p) => `${p.name} ${(p.size / 1024).toFixed(1)} KB`).join(', ')}`);
  });

  it('bundles only what it imports from @trackmate/browser (tree-shaking)', async () => {
    const trackOnly = await bundle(
      'track-only',
      "import { track } from '@trackmate/browser';\ntrack('signup', { plan: 'pro' });\n",
    );
    const initAndTrack = await bundle(
      'init-and-track',
      "import { init, track } from '@trackmate/browser';\ninit({ writeKey: 'pk_test' });\ntrack('signup', { plan: 'pro' });\n",
    );
    const everything = await bundle(
      'everything',
      [
        "import * as trackmate from '@trackmate/browser';",
        "import { pageView } from '@trackmate/browser/page-view';",
        "import { activeSite } from '@trackmate/browser/active-site';",
        "import { deepScroll } from '@trackmate/browser/deep-scroll';",
        "import { buttonClick } from '@trackmate/browser/button-click';",
        "import { formSubmit } from '@trackmate/browser/form-submit';",
        "trackmate.init({ writeKey: 'pk_test', plugins: [pageView(), activeSite(), deepScroll(), buttonClick(), formSubmit()] });",
        'globalThis.tm = trackmate;',
      ].join('\n'),
    );
    const sizes = { trackOnly: brotli(trackOnly), initAndTrack: brotli(initAndTrack), everything: brotli(everything) };
    console.info(
      `browser bundles, min+brotli: track only ${sizes.trackOnly} B, init + track ${sizes.initAndTrack} B, every export and plugin ${sizes.everything} B`,
    );
    expect(sizes.trackOnly).toBeLessThan(sizes.initAndTrack);
    expect(sizes.initAndTrack).toBeLessThanOrEqual(2_500); // the core's budget: <= 2,500 B
    expect(sizes.everything - sizes.initAndTrack).toBeGreaterThan(800);
    // no auto-capture plugin in what does not import one
    for (const marker of ['deep_scroll', 'button_click', 'form_submit', 'active_site']) {
      expect(trackOnly, marker).not.toContain(marker);
      expect(initAndTrack, marker).not.toContain(marker);
      expect(everything, marker).toContain(marker);
    }
  });

  it('requires and imports @trackmate/node', async () => {
    const probe = (kind: 'cjs' | 'esm') =>
      kind === 'cjs'
        ? "const t = require('@trackmate/node'); console.log(JSON.stringify([typeof t.TrackMate, typeof t.verifyWebhookSignature]))"
        : "import { TrackMate, verifyWebhookSignature } from '@trackmate/node'; console.log(JSON.stringify([typeof TrackMate, typeof verifyWebhookSignature]))";
    for (const kind of ['cjs', 'esm'] as const) {
      const args = kind === 'cjs' ? ['-e', probe(kind)] : ['--input-type=module', '-e', probe(kind)];
      const { stdout } = await run(process.execPath, args, { cwd: app, env });
      expect(JSON.parse(stdout), kind).toEqual(['function', 'function']);
    }
    // a secret key and a request: the client's constructor validates what the README says it needs
    const { stdout } = await run(
      process.execPath,
      [
        '-e',
        "const { TrackMate } = require('@trackmate/node'); const t = new TrackMate({ secretKey: 'sk_x', host: 'http://127.0.0.1:9' }); t.close({ timeout: 100 }).then(() => console.log('closed'))",
      ],
      { cwd: app, env },
    );
    expect(stdout.trim()).toBe('closed');
  });

  it('runs `npx trackmate-collector --help`', async () => {
    const { stdout } = await run('npx', ['--no-install', 'trackmate-collector', '--help'], { cwd: app, env });
    expect(stdout).toMatch(/trackmate-collector start/);
    expect(stdout).toMatch(/trackmate-collector worker/);
  });

  it('starts the installed collector, which takes an event and serves /sdk.js', async () => {
    const bin = join(app, 'node_modules', '.bin', 'trackmate-collector');
    const port = await freePort();
    const site = JSON.parse(
      (
        await run(bin, ['sites', 'create', '--name', 'Consumer', '--origin', 'https://shop.test', '--json'], {
          cwd: app,
          env,
        })
      ).stdout,
    );
    collector = spawn(bin, ['start', '--port', String(port)], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    collector.stdout?.on('data', (d) => (output += d));
    collector.stderr?.on('data', (d) => (output += d));
    const url = `http://127.0.0.1:${port}`;
    await until(
      async () => (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200,
      () => output,
    );

    const sdk = await fetch(`${url}/sdk.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(sdk.status).toBe(200);
    expect(sdk.headers.get('content-type')).toMatch(/javascript/);
    const installedIife = readFileSync(join(app, 'node_modules/@trackmate/browser/dist/trackmate.min.js'), 'utf8');
    expect(await sdk.text()).toBe(installedIife);
    const compressed = await fetch(`${url}/sdk.js`, { headers: { 'accept-encoding': 'br' } });
    expect(compressed.headers.get('content-encoding')).toBe('br');

    const messageId = `consumer-${id}`;
    const res = await fetch(`${url}/api/track/event`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://shop.test' },
      body: JSON.stringify({
        writeKey: site.writeKey,
        messageId,
        name: 'page_view',
        timestamp: new Date().toISOString(),
        anonymousId: 'visitor-1',
        properties: { url: 'https://shop.test/', referrer: '', title: 'Home' },
      }),
    });
    expect(res.status).toBe(202);
    const client = new MongoClient(env.MONGODB_URI);
    try {
      await until(
        async () => Boolean(await client.db().collection('events').findOne({ messageId })),
        () => output,
      );
    } finally {
      await client.close();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  return port;
}

async function until(check: () => Promise<boolean>, log: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out; collector output:\n${log()}`);
}
