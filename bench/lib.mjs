// Shared pieces of the benchmarks: a collector child process, a site, RSS sampling, a free port, tables.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The collector's CLI; TRACKMATE_BENCH_CLI names another build's, to compare two builds on one machine. */
export const CLI = process.env.TRACKMATE_BENCH_CLI ?? join(ROOT, 'packages/collector/dist/cli.js');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves when the installation's ingest queue holds no job (every acknowledged event was processed), or
 * when `budgetMs` is up; returns whether it drained. Polls Redis, not MongoDB: counting documents on the
 * database being measured would load it (a full scan on FerretDB).
 */
export async function waitForDrain(env, { budgetMs = 300_000, everyMs = 20 } = {}) {
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('ingest', { connection, prefix: env.TRACKMATE_QUEUE_PREFIX });
  try {
    const deadline = Date.now() + budgetMs;
    for (;;) {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
      if (Object.values(c).every((n) => n === 0)) return true;
      if (Date.now() > deadline) return false;
      await sleep(everyMs);
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Runs fn(0 … n-1) with at most `parallel` calls at a time. */
export async function inParallel(n, parallel, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** An environment of its own (database, queue prefix) on the shared services, rate limits off. */
export function benchEnv(extra = {}) {
  const id = randomBytes(4).toString('hex');
  const base = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/trackmate');
  base.pathname = `/tm_bench_${id}`;
  return {
    MONGODB_URI: base.toString(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    TRACKMATE_QUEUE_PREFIX: `tmbench_${id}`,
    LOG_LEVEL: 'warn',
    TRACKMATE_RATE_LIMIT_KEY: '0',
    TRACKMATE_RATE_LIMIT_IP: '0',
    TRACKMATE_RATE_LIMIT_AUTH_FAILURES: '0',
    ...extra,
  };
}

/** Runs `trackmate-collector sites create` and returns { siteId, writeKey, secretKey }. */
export async function createSite(env) {
  const child = spawn(
    process.execPath,
    [CLI, 'sites', 'create', '--name', 'Bench shop', '--origin', 'https://shop.test', '--json'],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`sites create failed (${code})`);
  return JSON.parse(out);
}

/** A child process listening on `port`, waited for with GET `readyPath`. */
export async function startProcess(args, { env = {}, port, readyPath = '/health', nodeArgs = [] }) {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}${readyPath}`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${args.join(' ')} did not answer on ${port}: ${stderr}`);
    await sleep(200);
  }
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    /** From spawn to the first good answer (start-up, to leave out of a CPU profile). */
    readyMs: Date.now() - spawnedAt,
    rss: () => rssOf(child.pid),
    cpuMs: () => cpuMsOf(child.pid),
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 35_000);
      await once(child, 'exit');
      clearTimeout(t);
    },
  };
}

/** The collector (`trackmate-collector start`), with or without its in-process worker. */
export async function startCollector(env, { worker = true, nodeArgs = [] } = {}) {
  const port = await freePort();
  const args = [CLI, 'start', '--port', String(port), ...(worker ? [] : ['--no-worker'])];
  return startProcess(args, { env, port, nodeArgs });
}

/** Resident set size of a process in bytes (Linux), or undefined. */
export function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in ms (Linux; clock ticks of 10 ms). */
export function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of the line)
  } catch {
    return undefined;
  }
}

/** Samples `fn()` every `ms` until stopped; returns { stop(): max }. */
export function sampleMax(fn, ms = 200) {
  let max = 0;
  const t = setInterval(() => {
    const v = fn();
    if (v !== undefined && v > max) max = v;
  }, ms);
  return {
    stop() {
      clearInterval(t);
      const v = fn();
      if (v !== undefined && v > max) max = v;
      return max;
    },
  };
}

/** Deletes every Redis key under a queue prefix (what a benchmark left in the shared Redis). */
export async function dropRedisPrefix(redisUrl, prefix) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function dropDatabase(uri) {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri);
  try {
    await client.db().dropDatabase();
  } catch {
    // best effort
  } finally {
    await client.close();
  }
}

const fmtNum = (v, digits = 0) =>
  v === undefined || v === null || Number.isNaN(v)
    ? '—'
    : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const fmt = {
  n: (v) => fmtNum(v),
  f1: (v) => fmtNum(v, 1),
  f2: (v) => fmtNum(v, 2),
  ms: (v) => (v === undefined ? '—' : `${fmtNum(v, v < 10 ? 2 : 1)} ms`),
  mb: (b) => (b === undefined ? '—' : `${fmtNum(b / 1048576, 0)} MB`),
  pct: (r) => (r === undefined || Number.isNaN(r) ? '—' : `${fmtNum(r * 100, 0)} %`),
};

/** Prints rows (arrays of strings) as an aligned table with a header. */
export function table(title, header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(all[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of all.slice(1)) console.log(line(r));
}
