import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

// Regression (issue 22): /metrics answered anyone who could reach an internet-facing collector.
describe('/metrics is not for everyone', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('without a token answers this machine only: a proxied request (X-Forwarded-For) or another address gets 403', async () => {
    t = await startTestApp({ worker: false });
    const local = await fetch(`${t.url}/metrics`);
    expect(local.status).toBe(200);
    expect(await local.text()).toContain('trackmate_http_requests_total');

    const proxied = await fetch(`${t.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(proxied.status).toBe(403);
    expect(await proxied.json()).toMatchObject({ code: 'TM_ERR_METRICS_FORBIDDEN' });

    // the same collector reached through one of this machine's other addresses, as a neighbour would
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && !i.internal && i.family === 'IPv4')?.address;
    if (outside) {
      const port = await freePort();
      const wide = await buildApp({ ...t.config, port }, { worker: false, logger: false });
      await wide.listen({ port, host: '0.0.0.0' });
      try {
        expect((await fetch(`http://${outside}:${port}/metrics`)).status).toBe(403);
        expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      } finally {
        await wide.close();
      }
    }
  });

  it('with TRACKMATE_METRICS_TOKEN asks for it as a Bearer token, from anywhere', async () => {
    const token = 'metrics-token-0123456789abcdef';
    t = await startTestApp({ worker: false, env: { TRACKMATE_METRICS_TOKEN: token } });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ message: expect.stringMatching(/TRACKMATE_METRICS_TOKEN/) });
    const right = await fetch(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' },
    });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('trackmate_queue_depth');
  });

  it('with TRACKMATE_METRICS_LISTEN serves it on that address only; the API address answers 404', async () => {
    const port = await freePort();
    t = await startTestApp({ worker: false, env: { TRACKMATE_METRICS_LISTEN: `127.0.0.1:${port}` } });
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('trackmate_queue_depth');
    expect((await fetch(`http://127.0.0.1:${port}/api/profiles`)).status).toBe(404);
    await t.close();
    t = undefined;
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow(); // closed with the collector
  });

  it('refuses a bad TRACKMATE_METRICS_LISTEN or a short token at start, naming the variable', async () => {
    expect(() => loadConfig({ TRACKMATE_METRICS_LISTEN: 'everywhere' })).toThrow(/TRACKMATE_METRICS_LISTEN/);
    expect(() => loadConfig({ TRACKMATE_METRICS_TOKEN: 'short' })).toThrow(/TRACKMATE_METRICS_TOKEN/);
    expect(loadConfig({ TRACKMATE_METRICS_LISTEN: '[::]:9464' }).metricsListen).toEqual({ host: '::', port: 9464 });
    expect(loadConfig({ TRACKMATE_METRICS_LISTEN: '9464' }).metricsListen).toEqual({ host: '127.0.0.1', port: 9464 });
  });
});
