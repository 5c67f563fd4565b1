import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { removeRedisKeys } from '../../../../test/helpers/redis-keys.mjs';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { QueuedEvent } from '../../src/ingest/index.js';
import { type CreatedSite, createSite } from '../../src/sites/create-site.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A fresh database name and queue prefix, so every test file is isolated (as BullMQ's own suite does). */
export function isolatedEnv(extra: Record<string, string> = {}): Record<string, string> {
  const id = randomBytes(5).toString('hex');
  const base = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/trackmate');
  base.pathname = `/tm_test_${id}`;
  return {
    MONGODB_URI: base.toString(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    TRACKMATE_QUEUE_PREFIX: `tmtest_${id}`,
    LOG_LEVEL: 'silent',
    TRACKMATE_RATE_LIMIT_KEY: '0',
    TRACKMATE_RATE_LIMIT_IP: '0',
    TRACKMATE_RATE_LIMIT_AUTH_FAILURES: '0',
    // the tests' webhook receivers listen on 127.0.0.1 (the security tests turn this off)
    TRACKMATE_WEBHOOK_ALLOW_PRIVATE: 'true',
    ...extra,
  };
}

export interface TestApp {
  app: FastifyInstance;
  url: string;
  config: Config;
  env: Record<string, string>;
  site: CreatedSite;
  db: ReturnType<MongoClient['db']>;
  close(): Promise<void>;
}

/** The real collector in this process (with its worker unless told otherwise) on a random port, plus one site. */
export async function startTestApp(
  options: { env?: Record<string, string>; worker?: boolean; origins?: string[] } = {},
): Promise<TestApp> {
  const env = isolatedEnv(options.env);
  const config = loadConfig(env, { port: 0 });
  const app = await buildApp(config, { worker: options.worker ?? true, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const site = await createSite(app.models, { name: 'Test shop', origins: options.origins ?? ['https://shop.test'] });
  const client = new MongoClient(env.MONGODB_URI!);
  const db = client.db();
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    config,
    env,
    site,
    db,
    async close() {
      await app.close();
      await client.close();
      await removeTestData(env);
    },
  };
}

/**
 * The collector for this test file: started before its tests (`ready` gets it), closed after them with its
 * database and Redis keys.
 */
export function useTestApp(options: Parameters<typeof startTestApp>[0], ready: (t: TestApp) => void): void {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await startTestApp(options);
    ready(t);
  });
  afterAll(async () => {
    await t?.close();
  });
}

/** A test app's stored events by messageId, and a wait for them (the worker stores them a moment later). */
export function storedEvents(t: () => TestApp) {
  const events = () => t().db.collection('events');
  const stored = (messageIds: string[]) =>
    events()
      .find({ messageId: { $in: messageIds } })
      .toArray();
  const waitStored = (ids: string[], n = ids.length) =>
    waitFor(async () => (await stored(ids)).length >= n && stored(ids), 15_000, `${n} stored events`);
  return { events, stored, waitStored };
}

/**
 * Removes what a test file made, as BullMQ's suite obliterates its queues: its database and every Redis key under
 * its queue prefix (queues, rate limits, caches, sketches). Call it once the collector it ran is closed.
 */
export async function removeTestData(env: Record<string, string>): Promise<void> {
  const client = new MongoClient(env.MONGODB_URI!);
  await client
    .db()
    .dropDatabase()
    .catch(() => {});
  await client.close();
  await removeRedisKeys(env.REDIS_URL!, env.TRACKMATE_QUEUE_PREFIX!);
}

/** Polls until `check` returns a truthy value or the time is up (then throws with the last value). */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** A collector CLI child process (`start`, `worker`, …) with the given environment. */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await once(child, 'exit');
}

let counter = 0;
/** A valid client event; `name` and `properties` default to a page_view. */
export function clientEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    messageId: `msg-${Date.now().toString(36)}-${counter}-${randomBytes(3).toString('hex')}`,
    name: 'page_view',
    timestamp: new Date().toISOString(),
    anonymousId: 'anon-1',
    sessionId: 'sess-1',
    properties: { url: 'https://shop.test/', referrer: '', title: 'Home' },
    ...overrides,
  };
}

/** POST /api/track/event with a JSON body. */
export async function postEvents(
  url: string,
  body: unknown,
  init: { headers?: Record<string, string>; query?: string; raw?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${url}/api/track/event${init.query ?? ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** A browser's page view as the API queues it for the worker (for tests that call processEvents directly). */
export function queuedEvent(
  siteId: string,
  over: Partial<QueuedEvent> & Pick<QueuedEvent, 'anonymousId'>,
): QueuedEvent {
  const now = new Date().toISOString();
  return {
    siteId,
    messageId: `m-${randomBytes(12).toString('hex')}`,
    name: 'page_view',
    timestamp: now,
    receivedAt: now,
    sessionId: null,
    profileId: null,
    properties: { url: 'https://shop.test/' },
    source: 'client',
    userAgent: null,
    ip: null,
    ...over,
  };
}

/** The items in random order (Fisher–Yates), for tests that run jobs in an order nobody chose. */
export function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Runs the jobs `width` at a time, in the order given. */
export async function runAll(jobs: Array<() => Promise<unknown>>, width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}
