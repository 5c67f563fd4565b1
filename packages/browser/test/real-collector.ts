/**
 * Harness of the browser tests: the real collector (a CLI child process on a random port, with its own
 * database and queue prefix), a page server for the "shop" origin, MongoDB, and Debian's Chromium driven by
 * playwright-core.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';

const repo = join(import.meta.dirname, '../../..');
const CLI = join(repo, 'packages/collector/dist/cli.js');
const SDK = join(repo, 'packages/browser/dist/trackmate.min.js');

/** MONGODB_URI and REDIS_URL: from the environment (`npm test` sets them) or from scripts/services.sh. */
export const servicesEnv = (): { MONGODB_URI: string; REDIS_URL: string } => {
  if (!process.env.MONGODB_URI || !process.env.REDIS_URL) {
    const out = execFileSync('bash', [join(repo, 'scripts/services.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    for (const [, k, v] of out.matchAll(/export (\w+)=(\S+)/g)) process.env[k!] ??= v;
  }
  return { MONGODB_URI: process.env.MONGODB_URI!, REDIS_URL: process.env.REDIS_URL! };
};

/** Builds what the tests need when it is missing (a fresh clone under `npx vitest`). */
export const ensureBuilt = () => {
  if (!existsSync(CLI) || !existsSync(SDK)) {
    execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: repo, stdio: 'inherit' });
  }
};

export const freePort = async (): Promise<number> => {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  return port;
};

export const isolatedEnv = () => {
  const { MONGODB_URI, REDIS_URL } = servicesEnv();
  const id = randomBytes(5).toString('hex');
  const uri = new URL(MONGODB_URI);
  uri.pathname = `/tm_browser_${id}`;
  return {
    MONGODB_URI: uri.toString(),
    REDIS_URL,
    TRACKMATE_QUEUE_PREFIX: `tmbrowser_${id}`,
    LOG_LEVEL: 'warn',
    TRACKMATE_RATE_LIMIT_KEY: '0',
    TRACKMATE_RATE_LIMIT_IP: '0',
    TRACKMATE_RATE_LIMIT_AUTH_FAILURES: '0',
  };
};

const run = (args: string[], env: Record<string, string>) =>
  execFileSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });

export const createSite = (env: Record<string, string>, origin: string) =>
  JSON.parse(run(['sites', 'create', '--name', 'Browser test shop', '--origin', origin, '--json'], env)) as {
    siteId: string;
    writeKey: string;
  };

export interface Collector {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** What the collector wrote to stderr/stdout, for failure messages. */
  log(): string;
}

/** `trackmate-collector start --port N` as a child process; stop() and start() keep the same port. */
export const collector = async (env: Record<string, string>): Promise<Collector> => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    child = spawn(process.execPath, [CLI, 'start', '--port', String(port)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`collector exited ${child.exitCode}:\n${output}`);
      const ok = await fetch(`${url}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`collector did not become ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  await start();
  return { url, start, stop, log: () => output };
};

/** Serves one HTML page (set by the test) at every path of its own origin, as a single-page app would. */
export const pageServer = async () => {
  let html = '';
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(html);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    set: (h: string) => {
      html = h;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

export { launchChromium } from '../../../test/helpers/chromium.mjs';

export const mongo = (uri: string) => {
  const client = new MongoClient(uri);
  return { client, db: client.db() };
};

/** Polls `read` until `done(value)`; on timeout throws with the last value read. */
export const waitFor = async <T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)?.slice(0, 3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
};

export const sdkSource = () => readFileSync(SDK, 'utf8');
