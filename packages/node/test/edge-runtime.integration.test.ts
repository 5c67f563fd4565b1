import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll, type RealCollector, startRealCollector } from './helpers/real-collector.js';

const run = promisify(execFile);
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

/**
 * An edge runtime, as far as Node can play one: every `node:` (and bare built-in) import throws. (Node's own
 * fetch needs the Buffer global, so that one stays; the bundles are checked for Buffer separately.)
 */
function edgeSandbox(): { register: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tm-edge-'));
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { builtinModules } from 'node:module';
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) {
    throw new Error('edge runtime: no ' + specifier + ' (imported by ' + context.parentURL + ')');
  }
  return next(specifier, context);
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
  );
  return { register: join(dir, 'register.mjs'), dir };
}

describe('@trackmate/node on an edge runtime (no node: modules)', () => {
  let collector: RealCollector;
  beforeAll(async () => {
    collector = await startRealCollector();
  }, 300_000);
  afterAll(async () => {
    await collector?.stop();
  });

  it('the built bundles import no node: module and use no Buffer', () => {
    for (const file of ['esm/index.js', 'cjs/index.cjs']) {
      const code = readFileSync(join(dist, file), 'utf8');
      // imports and requires of built-ins (`process.getBuiltinModule('node:zlib')` is a call, not an import)
      expect(code, file).not.toMatch(/(?:from|import|require)\s*\(?\s*['"](?:node:|zlib|crypto|util|buffer)/);
      expect(code, file).not.toMatch(/\bBuffer\./);
    }
  });

  it('delivers a gzip batch to the real collector and verifies a signature where node: imports throw', async () => {
    const sandbox = edgeSandbox();
    const runId = `edge-${Date.now()}`;
    const script = join(sandbox.dir, 'handler.mjs');
    writeFileSync(
      script,
      `delete process.getBuiltinModule; // edge runtimes have none: the SDK must gzip with CompressionStream
let blocked = false;
try { await import('node:zlib'); } catch { blocked = true; }
if (!blocked) throw new Error('the sandbox lets node: modules through');
const { TrackMate, verifyWebhookSignature, signWebhookPayload } = await import(${JSON.stringify(join(dist, 'esm/index.js'))});
const tm = new TrackMate({ secretKey: ${JSON.stringify(collector.site.secretKey)}, host: ${JSON.stringify(collector.host)}, gzip: true });
const errors = [];
tm.on('error', (e) => errors.push(String(e)));
tm.on('drop', (d) => errors.push('drop ' + d.reason));
for (let i = 0; i < 20; i++) tm.track('edge_ping', { i }, { email: 'edge@example.com', messageId: ${JSON.stringify(runId)} + '-' + i });
await tm.flush();
const body = JSON.stringify({ hello: 'edge' });
const header = signWebhookPayload({ body, secret: 'whsec_edge' });
console.log(JSON.stringify({ errors, header, verified: verifyWebhookSignature({ body, header, secret: 'whsec_edge' }) }));
await tm.close();
`,
    );
    const { stdout } = await run(process.execPath, ['--import', sandbox.register, script], { timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out.errors).toEqual([]);
    expect(out.verified).toBe(true);
    // the edge build's signature is the one node:crypto computes
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(out.header)!;
    expect(v1).toBe(createHmac('sha256', 'whsec_edge').update(`${t}.{"hello":"edge"}`).digest('hex'));

    const stored = await poll(
      () => collector.db.collection('events').countDocuments({ name: 'edge_ping' }),
      (n) => n === 20,
      60_000,
    );
    expect(stored).toBe(20);
  });
});
