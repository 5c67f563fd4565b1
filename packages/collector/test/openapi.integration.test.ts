import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/harness.js';

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };

/**
 * The OpenAPI document shows what every API route answers, not only its errors: each route's 2xx shape comes
 * from @trackmate/schema, the one place the console takes its types from.
 */
describe('the OpenAPI document', () => {
  let t: TestApp;
  let paths: Record<string, Record<string, Operation>>;
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    paths = (t.app.swagger() as { paths: typeof paths }).paths;
  });
  afterAll(() => t?.close());

  // pages a person opens from an e-mail answer HTML, not JSON
  const htmlPages = new Set(['/api/unsubscribe', '/api/consent/confirm']);

  it('declares a 2xx body schema for every /api route that answers JSON (DELETEs of one item answer 204, empty)', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const [path, operations] of Object.entries(paths)) {
      // HTML pages and CSV exports answer no JSON
      if (!path.startsWith('/api/') || htmlPages.has(path) || path.endsWith('.csv')) continue;
      for (const [method, op] of Object.entries(operations)) {
        if (method === 'delete' && path !== '/api/site' && !path.startsWith('/api/profiles/')) continue;
        checked++;
        const ok = Object.entries(op.responses ?? {}).some(
          ([status, r]) => /^2\d\d$/.test(status) && r.content?.['application/json']?.schema,
        );
        if (!ok) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('shows the admin answers by their shared names of fields', () => {
    const schemaOf = (path: string, method: string, status: string) =>
      JSON.stringify(paths[path]?.[method]?.responses?.[status]?.content?.['application/json']?.schema ?? {});
    expect(schemaOf('/api/webhooks', 'get', '200')).toContain('"webhooks"');
    expect(schemaOf('/api/triggers/{id}', 'get', '200')).toContain('"reentryHours"');
    expect(schemaOf('/api/site', 'get', '200')).toContain('"allowedOrigins"');
    expect(schemaOf('/api/metrics', 'get', '200')).toContain('"revenueByCurrency"');
  });
});
