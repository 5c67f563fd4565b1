#!/usr/bin/env node
/**
 * Replays the Dockerfile on this machine, without Docker: each stage in a fresh directory under the system's
 * temporary directory, the build context filtered by .dockerignore, every RUN run as written (`--mount` flags
 * dropped; the npm cache is this user's), COPY and COPY --from between stage directories, then the runtime
 * stage's CMD started with its ENV against MONGODB_URI / REDIS_URL until its HEALTHCHECK passes, plus the
 * worker and console commands of compose.yaml from the same files. Prints what each step took.
 *
 *   node scripts/check-dockerfile.mjs [--keep]
 *
 * What it cannot check: the base image itself, the `node` user's permissions and Docker's own behaviour;
 * CI's `docker` job builds the image and runs compose for those.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseDockerfile, parseEnv } from './dockerfile.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'trackmate-docker-'));
const started = [];
const log = (msg) => process.stderr.write(`check-dockerfile: ${msg}\n`);
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** The build context: files git knows or would add, minus .dockerignore's patterns. */
function contextFiles() {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => {
      const body = p
        .replace(/^\/+|\/+$/g, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/\*/g, '[^/]*');
      return new RegExp(`^${body}(?:/.*)?$`);
    });
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return [...new Set(listed.split('\0').filter(Boolean))].filter(
    (f) => !patterns.some((re) => re.test(f)) && existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile(),
  );
}

function runShell(command, cwd, env) {
  return new Promise((res, rej) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`RUN ${command} exited with ${code}`))));
  });
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address();
  server.close();
  return port;
}

function start(argv, cwd, env, name) {
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  started.push(child);
  child.output = () => output;
  child.label = name;
  return child;
}

async function until(what, check, child, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what}: ${child.label} exited:\n${child.output()}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: timed out${child ? `\n${child.output()}` : ''}`);
}

function exitsZero(argv, cwd, env) {
  return new Promise((res) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: 'ignore' });
    child.on('exit', (code) => res(code === 0));
  });
}

async function main() {
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const stageRoot = (name) => join(work, name);
  const state = {};
  for (const stage of stages) {
    const root = stageRoot(stage.name);
    mkdirSync(root, { recursive: true });
    const s = { root, wd: root, env: {}, healthcheck: undefined, cmd: undefined };
    state[stage.name] = s;
    log(`stage ${stage.name} (FROM ${stage.from}) in ${root}`);
    for (const { op, args } of stage.instructions) {
      if (op === 'WORKDIR') {
        s.wd = join(root, args);
        mkdirSync(s.wd, { recursive: true });
      } else if (op === 'ENV') Object.assign(s.env, parseEnv(args));
      else if (op === 'COPY') {
        const parts = args.split(/\s+/);
        const from = parts.find((p) => p.startsWith('--from='))?.slice(7);
        const [dest, ...srcs] = parts.filter((p) => !p.startsWith('--')).reverse();
        const target = isAbsolute(dest) ? join(root, dest) : join(s.wd, dest);
        if (from) {
          for (const src of srcs) {
            const source = join(stageRoot(from), src);
            if (!existsSync(source)) throw new Error(`COPY --from=${from} ${src}: not in stage ${from}`);
            mkdirSync(dirname(target), { recursive: true });
            cpSync(source, target, { recursive: true, verbatimSymlinks: true });
          }
        } else {
          if (srcs.length !== 1 || srcs[0] !== '.') throw new Error(`COPY ${args}: only "COPY . <dest>" is replayed`);
          const t0 = Date.now();
          const files = contextFiles();
          for (const f of files) {
            mkdirSync(dirname(join(target, f)), { recursive: true });
            cpSync(join(ROOT, f), join(target, f));
          }
          log(`COPY . (${files.length} files from the context) ${seconds(t0)}`);
        }
      } else if (op === 'RUN') {
        const command = args.replace(/--mount=\S+\s+/g, '');
        const t0 = Date.now();
        log(`RUN ${command}`);
        await runShell(command, s.wd, { ...process.env, ...s.env });
        log(`  ${seconds(t0)}`);
      } else if (op === 'HEALTHCHECK') s.healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3).trim());
      else if (op === 'CMD') s.cmd = JSON.parse(args);
    }
  }

  const runtime = state[stages.at(-1).name];
  for (const dev of ['typescript', 'vitest', 'rollup', '@biomejs/biome']) {
    if (existsSync(join(runtime.wd, 'node_modules', dev))) throw new Error(`runtime stage holds devDependency ${dev}`);
  }
  log('runtime stage holds no devDependencies');

  const id = randomBytes(4).toString('hex');
  const mongo = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/trackmate');
  mongo.pathname = `/tm_docker_${id}`;
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    ...runtime.env,
    MONGODB_URI: mongo.toString(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    TRACKMATE_QUEUE_PREFIX: `tmdocker_${id}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true });

  let t0 = Date.now();
  const api = start(runtime.cmd, runtime.wd, env, 'CMD');
  await until('HEALTHCHECK', () => exitsZero(runtime.healthcheck, runtime.wd, env), api);
  log(`CMD ${runtime.cmd.join(' ')}: HEALTHCHECK passes after ${seconds(t0)}`);

  const worker = start(compose.services.worker.command, runtime.wd, env, 'worker');
  const site = JSON.parse(
    execFileSync(
      'node',
      [
        'packages/collector/dist/cli.js',
        'sites',
        'create',
        '--name',
        'Docker',
        '--origin',
        'https://shop.test',
        '--json',
      ],
      { cwd: runtime.wd, env, encoding: 'utf8' },
    ),
  );
  const res = await fetch(`http://127.0.0.1:${port}/api/track/event`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      writeKey: site.writeKey,
      messageId: `docker-${id}`,
      name: 'page_view',
      timestamp: new Date().toISOString(),
      anonymousId: 'v-1',
      properties: { url: 'https://shop.test/', referrer: '', title: 'Home' },
    }),
  });
  if (res.status !== 202) throw new Error(`POST /api/track/event answered ${res.status}`);
  const sdk = await fetch(`http://127.0.0.1:${port}/sdk.js`);
  if (sdk.status !== 200) throw new Error(`/sdk.js answered ${sdk.status}`);
  log('the image takes an event and serves /sdk.js');
  await new Promise((r) => setTimeout(r, 3_000));
  if (worker.exitCode !== null) throw new Error(`the worker command exited:\n${worker.output()}`);
  log(`compose's worker command runs: ${compose.services.worker.command.join(' ')}`);

  const consoleArgs = [...compose.services.console.command];
  const consolePort = await freePort();
  consoleArgs[consoleArgs.indexOf('--port') + 1] = String(consolePort);
  consoleArgs[consoleArgs.indexOf('--host') + 1] = '127.0.0.1';
  consoleArgs[consoleArgs.indexOf('--collector') + 1] = `http://127.0.0.1:${port}`;
  t0 = Date.now();
  const console_ = start(consoleArgs, runtime.wd, env, 'console');
  await until(
    'console',
    async () => ((await fetch(`http://127.0.0.1:${consolePort}/`).catch(() => undefined))?.status ?? 600) < 500,
    console_,
  );
  log(`compose's console command answers after ${seconds(t0)}`);
  log('OK');
}

try {
  await main();
} catch (err) {
  log(`FAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1_000));
  if (keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
