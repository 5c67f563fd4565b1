import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Db, MongoClient } from 'mongodb';
import { removeRedisKeys } from '../../../../test/helpers/redis-keys.mjs';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = `${repo}packages/collector/dist/cli.js`;

/**
 * The real collector (`trackmate-collector start`, API + worker) on a random port, with its own MongoDB
 * database and Redis key prefix, on the services scripts/services.sh provides.
 */
export async function startRealCollector(options: { worker?: boolean } = {}) {
  const { stdout } = await run('bash', [`${repo}scripts/services.sh`], { cwd: repo, timeout: 300_000 });
  const services: Record<string, string> = {};
  for (const [, name, value] of stdout.matchAll(/^export (\w+)=(.*)$/gm)) {
    services[name as string] = (value as string).replace(/^['"]|['"]$/g, '');
  }
  const suffix = randomBytes(5).toString('hex');
  const mongoUrl = new URL(services.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/trackmate');
  mongoUrl.pathname = `/tm_node_${suffix}`;
  const env = {
    ...process.env,
    ...services,
    MONGODB_URI: mongoUrl.toString(),
    TRACKMATE_QUEUE_PREFIX: `tm-node-${suffix}`,
    LOG_LEVEL: 'warn',
  };

  const created = await run(
    process.execPath,
    [cli, 'sites', 'create', '--name', 'node-sdk-test', '--origin', 'http://x.test', '--json'],
    { cwd: repo, env, timeout: 60_000 },
  );
  const site = JSON.parse(created.stdout) as { siteId: string; secretKey: string; writeKey: string };

  const port = await freePort();
  const args = [cli, 'start', '--port', String(port), ...(options.worker === false ? ['--no-worker'] : [])];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repo,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const host = `http://127.0.0.1:${port}`;
  await waitForHttp(host, child, () => stderr);

  const mongo = new MongoClient(env.MONGODB_URI, { serverSelectionTimeoutMS: 10_000 });
  await mongo.connect();
  const db: Db = mongo.db();

  return {
    host,
    site,
    db,
    /** What the collector wrote to stderr (warnings and errors at LOG_LEVEL=warn). */
    log: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
      await removeRedisKeys(services.REDIS_URL ?? 'redis://127.0.0.1:6379', env.TRACKMATE_QUEUE_PREFIX);
    },
  };
}

export type RealCollector = Awaited<ReturnType<typeof startRealCollector>>;

/**
 * Polls `read` until `done(value)` holds; returns the last value (the caller asserts on it). The worker stores
 * events asynchronously and, on a busy machine with FerretDB, slowly: the default wait is generous.
 */
export async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeout = 90_000): Promise<T> {
  const start = Date.now();
  let value = await read();
  while (!done(value) && Date.now() - start < timeout) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/**
 * A pass-through HTTP proxy in front of the collector that can answer some requests itself
 * (`intercept` returns a status to answer with, or undefined to forward). Counts what it saw.
 */
export async function startProxy(target: string, intercept: (index: number) => number | undefined = () => undefined) {
  const seen: Array<{ status: number }> = [];
  const server: Server = createServer((req, res) => {
    const index = seen.length;
    const entry = { status: 0 };
    seen.push(entry);
    const own = intercept(index);
    if (own !== undefined) {
      req.resume();
      entry.status = own;
      res.writeHead(own, { 'retry-after': '0', 'content-type': 'application/json' });
      res.end('{"code":"TM_ERR_UNAVAILABLE"}');
      return;
    }
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      entry.status = answer.statusCode ?? 0;
      res.writeHead(entry.status, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForHttp(host: string, child: ChildProcess, log: () => string): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`collector exited with ${child.exitCode}:\n${log()}`);
    try {
      await fetch(`${host}/api/track/server-event`, { method: 'OPTIONS' });
      return;
    } catch {
      if (Date.now() - start > 60_000) throw new Error(`collector did not answer on ${host}:\n${log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
