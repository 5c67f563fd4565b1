/**
 * Harness of the console's end-to-end tests: the real collector (CLI child process, its own database and
 * queue prefix), the built console (`trackmate-console`) in front of it, and Debian's Chromium.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const repo = join(import.meta.dirname, '../../..');
const CLI = join(repo, 'packages/collector/dist/cli.js');
const CONSOLE_BIN = join(repo, 'packages/console/bin/trackmate-console.mjs');
/** Screenshots of every page, kept after the run (gitignored). */
export const ARTIFACTS = join(repo, 'packages/console/test-artifacts');

export function servicesEnv(): { MONGODB_URI: string; REDIS_URL: string } {
  if (!process.env.MONGODB_URI || !process.env.REDIS_URL) {
    const out = execFileSync('bash', [join(repo, 'scripts/services.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    for (const [, k, v] of out.matchAll(/export (\w+)=(\S+)/g)) process.env[k!] ??= v;
  }
  return { MONGODB_URI: process.env.MONGODB_URI!, REDIS_URL: process.env.REDIS_URL! };
}

/** Builds what the tests need when it is missing (a fresh clone under `npx vitest`). */
export function ensureBuilt(...nextApps: string[]): void {
  const missing = [CLI, ...nextApps.map((a) => join(repo, a, '.next/BUILD_ID'))].some((f) => !existsSync(f));
  if (missing) {
    execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
      cwd: repo,
      stdio: 'inherit',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', TURBO_TELEMETRY_DISABLED: '1' },
    });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
}

export function isolatedEnv(): Record<string, string> {
  const { MONGODB_URI, REDIS_URL } = servicesEnv();
  const id = randomBytes(5).toString('hex');
  const uri = new URL(MONGODB_URI);
  uri.pathname = `/tm_console_${id}`;
  return {
    MONGODB_URI: uri.toString(),
    REDIS_URL,
    TRACKMATE_QUEUE_PREFIX: `tmconsole_${id}`,
    LOG_LEVEL: 'warn',
    TRACKMATE_RATE_LIMIT_KEY: '0',
    TRACKMATE_RATE_LIMIT_IP: '0',
    TRACKMATE_RATE_LIMIT_AUTH_FAILURES: '0',
    TRACKMATE_WEBHOOK_ALLOW_PRIVATE: 'true',
    TRACKMATE_JOB_BACKOFF_MS: '100',
    TRACKMATE_JOB_ATTEMPTS: '2',
  };
}

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  return port;
}

export interface Child {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/** Spawns a server and waits until `ready` (a path) answers 2xx/3xx. */
export async function serve(args: string[], env: Record<string, string>, port: number, ready: string): Promise<Child> {
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args[0]} exited ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${url}${ready}`, { redirect: 'manual' }).then(
      (r) => r.status < 400,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${args[0]} did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url,
    log: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export const startCollector = async (env: Record<string, string>) => {
  const port = await freePort();
  return serve([CLI, 'start', '--port', String(port)], env, port, '/ready');
};

export const startConsole = async (collectorUrl: string, env: Record<string, string> = {}) => {
  const port = await freePort();
  return serve(
    [CONSOLE_BIN, '--port', String(port), '--collector', collectorUrl],
    { NEXT_TELEMETRY_DISABLED: '1', ...env },
    port,
    '/sign-in',
  );
};

export function createSite(env: Record<string, string>, origin: string) {
  const out = execFileSync(
    process.execPath,
    [CLI, 'sites', 'create', '--name', 'Console test shop', '--origin', origin, '--json'],
    {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    },
  );
  return JSON.parse(out) as { siteId: string; writeKey: string; secretKey: string };
}

export { launchChromium } from '../../../test/helpers/chromium.mjs';

/** A call to the collector's admin API with a secret key. */
export async function admin<T = unknown>(url: string, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function waitFor<T>(
  read: () => Promise<T> | T,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Drops a test's database and its Redis keys (what `isolatedEnv` named). */
export async function removeTestData(env: Record<string, string>): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const { removeRedisKeys } = await import('../../../test/helpers/redis-keys.mjs');
  const mongo = new MongoClient(env.MONGODB_URI!);
  await mongo
    .db()
    .dropDatabase()
    .catch(() => {});
  await mongo.close();
  await removeRedisKeys(env.REDIS_URL!, env.TRACKMATE_QUEUE_PREFIX!);
}
