import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { closeQueue } from '../src/plugins/queues.js';
import { createSite } from '../src/sites/create-site.js';
import { clientEvent, isolatedEnv, postEvents, removeTestData } from './helpers/harness.js';

// The ingest routes log with the process's logger (no per-request child: ingest-routes.ts); a failing request
// must still leave its line, and no personal data in it.
describe('logs of the ingest routes', () => {
  const env = isolatedEnv();
  const lines: Array<Record<string, unknown>> = [];
  let app: FastifyInstance;
  let url: string;
  let writeKey: string;
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    app = await buildApp(loadConfig(env, { port: 0 }), { worker: false, logger: { level: 'warn', stream } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    ({ writeKey } = await createSite(app.models, { name: 'Log shop', origins: ['https://shop.test'] }));
  });
  afterAll(async () => {
    await app?.close();
    await removeTestData(env);
  });

  it('a track request the queue cannot take answers 503 and logs one warning, without the key or the address', async () => {
    const ok = await postEvents(url, { writeKey, batch: [clientEvent()] });
    expect(ok.status).toBe(202);
    await closeQueue(app.queues.ingest); // Redis away, as far as the enqueue can tell
    const res = await postEvents(url, { writeKey, batch: [clientEvent()] });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    const warning = lines.find((l) => l.msg === 'queue unavailable, answered 503');
    expect(warning).toBeDefined();
    expect(warning!.level).toBe(40);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(writeKey);
    expect(text).not.toContain('127.0.0.1');
  });
});
