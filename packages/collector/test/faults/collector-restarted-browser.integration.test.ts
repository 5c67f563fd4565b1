import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH as CHROMIUM, launchChromium } from '../../../../test/helpers/chromium.mjs';
import { isolatedEnv, removeTestData, spawnCli, stopChild, waitFor } from '../helpers/harness.js';
import { freePort } from '../helpers/private-services.js';
import { sleep } from './load.js';

const SDK = fileURLToPath(new URL('../../../browser/dist/trackmate.min.js', import.meta.url));
const ready = existsSync(SDK) && existsSync(CHROMIUM);

// A page in Chromium tracks a numbered event every 25 ms through the real browser SDK, while the collector
// process (API + worker) is SIGKILLed and started again on the same port.
describe.skipIf(!ready)('fault: the collector restarts under browser-SDK load', () => {
  const env = isolatedEnv({ TRACKMATE_WORKER_LOCK_MS: '2000', LOG_LEVEL: 'warn' });
  let port: number;
  let collector: ChildProcess | undefined;
  let pages: Server;
  let origin: string;
  let browser: Browser;
  let client: MongoClient;
  let writeKey: string;

  const startCollector = async () => {
    collector = spawnCli(['start', '--port', String(port)], env);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.ok,
      30_000,
      'the collector',
    );
  };

  beforeAll(async () => {
    const sdk = readFileSync(SDK);
    pages = createServer((req, res) => {
      if (req.url === '/sdk.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><html><head><script>
          window.trackmate = window.trackmate || function () { (trackmate.q = trackmate.q || []).push(arguments); };
          trackmate('init', { writeKey: '${writeKey}', host: 'http://127.0.0.1:${port}' });
        </script><script src="/sdk.js"></script></head><body><h1>Shop</h1></body></html>`,
      );
    }).listen(0, '127.0.0.1');
    await once(pages, 'listening');
    origin = `http://127.0.0.1:${(pages.address() as { port: number }).port}`;
    const create = spawnCli(['sites', 'create', '--name', 'Fault shop', '--origin', origin, '--json'], env);
    let out = '';
    create.stdout!.on('data', (d) => (out += d));
    await once(create, 'exit');
    writeKey = (JSON.parse(out) as { writeKey: string }).writeKey;
    port = await freePort();
    await startCollector();
    browser = await launchChromium();
    client = new MongoClient(env.MONGODB_URI!);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    if (collector) await stopChild(collector, 'SIGKILL');
    pages?.close();
    await client?.close();
    await removeTestData(env);
  });

  it('delivers every event the SDK captured exactly once after the collector comes back', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.evaluate(() => {
      const w = window as unknown as { trackmate: (...a: unknown[]) => void; n: number; timer: unknown };
      w.n = 0;
      w.timer = setInterval(() => w.trackmate('track', 'fault_probe', { n: w.n++ }), 25);
    });
    const events = client.db().collection('events');
    await waitFor(async () => (await events.countDocuments({ name: 'fault_probe' })) > 20, 20_000, 'events stored');

    await stopChild(collector!, 'SIGKILL'); // a crash: requests in flight are cut, the worker's job is abandoned
    await sleep(3_000);
    await startCollector();
    await sleep(3_000);
    const captured = await page.evaluate(() => {
      const w = window as unknown as {
        trackmate: (...a: unknown[]) => void;
        n: number;
        timer: ReturnType<typeof setInterval>;
      };
      clearInterval(w.timer);
      w.trackmate('flush');
      return w.n;
    });
    expect(captured).toBeGreaterThan(200);

    const counts = await waitFor(
      async () => {
        const seen = new Map<number, number>();
        for await (const d of events.find({ name: 'fault_probe' }, { projection: { _id: 0, 'properties.n': 1 } })) {
          const n = (d.properties as { n: number }).n;
          seen.set(n, (seen.get(n) ?? 0) + 1);
        }
        return seen.size >= captured ? seen : undefined;
      },
      60_000,
      `all ${captured} captured events stored`,
    );
    const missing = Array.from({ length: captured }, (_, n) => n).filter((n) => !counts.has(n));
    const duplicated = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
    expect({ missing, duplicated }).toEqual({ missing: [], duplicated: [] });
    expect(await client.db().collection('dead_letters').countDocuments()).toBe(0);
    await page.close();
  }, 120_000);
});
