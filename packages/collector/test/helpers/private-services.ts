import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

/**
 * A Redis server of this test's own (AOF on, noeviction), so a test can stop and restart it without touching
 * the shared one. `stop()` kills it (SIGKILL: as abrupt as a crash; AOF everysec keeps what was fsynced);
 * `start()` brings it back on the same port and data directory.
 */
export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'tm-redis-'));
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  static async create(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the server process runs. */
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server unless it runs already (a second one would fail to bind and orphan the first). */
  async start(): Promise<void> {
    if (this.running) return;
    this.child = spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(this.port, 10_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    await once(child, 'exit');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The FerretDB binary scripts/services.sh builds (FerretDB 1.24, SQLite backend). */
export function ferretdbBinary(): string {
  const cache = process.env.XDG_CACHE_HOME || join(process.env.HOME ?? tmpdir(), '.cache');
  return join(cache, 'trackmate', 'bin', 'ferretdb');
}

/**
 * A MongoDB-wire server of this test's own: FerretDB with its SQLite backend on a free port, so a test can stop
 * it (a database outage) and start it again on the same port and data directory without touching the shared one.
 */
export class PrivateFerret {
  readonly dir = mkdtempSync(join(tmpdir(), 'tm-ferret-'));
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    readonly binary = ferretdbBinary(),
  ) {}

  static available(binary = ferretdbBinary()): boolean {
    return existsSync(binary);
  }

  static async create(): Promise<PrivateFerret> {
    const ferret = new PrivateFerret(await freePort());
    await ferret.start();
    return ferret;
  }

  /** A connection string for database `db` on this server. */
  uri(db: string): string {
    return `mongodb://127.0.0.1:${this.port}/${db}`;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server unless it runs already. */
  async start(): Promise<void> {
    if (this.running) return;
    this.child = spawn(
      this.binary,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${this.dir}/`,
        `--listen-addr=127.0.0.1:${this.port}`,
        '--debug-addr=127.0.0.1:0',
        '--telemetry=disable',
        `--state-dir=${this.dir}`,
        '--log-level=error',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(this.port, 15_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    await once(child, 'exit');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
