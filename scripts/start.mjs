// The quick start behind `npm start` (scripts/start.sh installs, builds and starts the services first).
// Creates the demo site once (kept in .trackmate/demo-site.json), starts the collector with its worker,
// serves examples/demo/index.html wired to it, and prints the URLs, keys and a curl to try.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSite, loadConfig, migrate, openMongo } from '@trackmate/collector';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT || 8080);
const host = process.env.HOST || '127.0.0.1';
const demoPort = Number(process.env.DEMO_PORT || 8081);
const consolePort = Number(process.env.CONSOLE_PORT || 3000);
const shopPort = 3001; // examples/next-shop (`npx next dev --port 3001`), allowed for the demo site
const collectorUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
const demoOrigins = [demoPort, shopPort].flatMap((p) => [`http://localhost:${p}`, `http://127.0.0.1:${p}`]);
const stateFile = join(root, '.trackmate', 'demo-site.json');

async function demoSite() {
  const config = loadConfig(process.env);
  const db = await openMongo(config);
  await migrate(db.models);
  try {
    if (existsSync(stateFile)) {
      const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
      const found = await db.models.Site.findOne({ writeKey: saved.writeKey }).lean();
      if (found) {
        const origins = new Set([...(found.allowedOrigins ?? []), ...demoOrigins]);
        await db.models.Site.updateOne({ _id: found._id }, { $set: { allowedOrigins: [...origins] } });
        return saved;
      }
    }
    const site = await createSite(db.models, { name: 'Demo shop', origins: demoOrigins });
    mkdirSync(dirname(stateFile), { recursive: true });
    writeFileSync(stateFile, `${JSON.stringify(site, null, 2)}\n`, { mode: 0o600 });
    return site;
  } finally {
    await db.close();
  }
}

function serveDemo(site) {
  const file = join(root, 'examples', 'demo', 'index.html');
  const server = createServer((req, res) => {
    // every path serves the page: the demo navigates with history.pushState, and a reload must still work
    if (req.url === '/favicon.ico') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const html = readFileSync(file, 'utf8')
      .replaceAll('__WRITE_KEY__', site.writeKey)
      .replaceAll('__HOST__', collectorUrl);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  server.listen(demoPort, '127.0.0.1');
  return server;
}

async function waitReady(child) {
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`the collector exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${collectorUrl}/ready`);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the collector did not become ready within 30 s');
}

const site = await demoSite();
const collector = spawn(
  process.execPath,
  [join(root, 'packages/collector/dist/cli.js'), 'start', '--port', String(port), '--host', host],
  {
    stdio: 'inherit',
    env: process.env,
  },
);
const demo = serveDemo(site);
// the console (packages/console, built by ensure-deps) in front of the collector
const consoleApp = spawn(
  process.execPath,
  [
    join(root, 'packages/console/bin/trackmate-console.mjs'),
    '--port',
    String(consolePort),
    '--host',
    host,
    '--collector',
    collectorUrl,
  ],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } },
);
const stop = () => {
  demo.close();
  consoleApp.kill('SIGTERM');
  collector.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
collector.on('exit', (code) => {
  demo.close();
  consoleApp.kill('SIGTERM');
  process.exit(code ?? 0);
});
await waitReady(collector);
const consoleUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${consolePort}`;
for (let i = 0; i < 120 && consoleApp.exitCode === null; i++) {
  if (
    await fetch(`${consoleUrl}/sign-in`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 250));
}

const sample = JSON.stringify({
  writeKey: site.writeKey,
  messageId: 'try-1',
  name: 'page_view',
  timestamp: '2026-01-01T00:00:00Z',
  anonymousId: 'visitor-1',
  properties: { url: 'https://shop.example/', referrer: '', title: 'Home' },
});
console.log(`
  TrackMate is running.

  Console       ${consoleUrl}      (sign in with the secret key below)
  Collector     ${collectorUrl}        (API docs: ${collectorUrl}/docs, health: ${collectorUrl}/ready)
  Demo page     http://localhost:${demoPort}      (open it, click around; events arrive in MongoDB)
  MongoDB       ${process.env.MONGODB_URI}   collections: events, profiles, ...
  Site          ${site.name} (${site.siteId})
  Write key     ${site.writeKey}      (public, for the browser SDK)
  Secret key    ${site.secretKey}      (server SDK and admin API; keep it secret)
                kept in .trackmate/demo-site.json

  Send an event:
    curl -i -X POST ${collectorUrl}/api/track/event -H 'content-type: text/plain' \\
      -d '${sample}'

  Next.js shop  TRACKMATE_WRITE_KEY=${site.writeKey} TRACKMATE_SECRET_KEY=${site.secretKey} \\
                TRACKMATE_HOST=${collectorUrl} npx next dev --port ${shopPort}   (in examples/next-shop)

  Ctrl-C stops everything.
`);
