import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The collector's layout, as rules on its imports: folders by feature, features talking only through each
 * other's index.ts, shared layers never importing features, and nothing importing upward.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FEATURES = [
  'analytics',
  'ingest',
  'pipeline',
  'profiles',
  'campaigns',
  'webhooks',
  'rollups',
  'sites',
  'integrations',
];
/** Plugins that wire features together; every other plugin is infrastructure. */
const WIRING = ['plugins/workers.ts', 'plugins/auth.ts'];
const ENTRY = ['app.ts', 'server.ts', 'cli.ts', 'index.ts'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return d.name === '__tests__' ? [] : sources(path);
    return d.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** Every relative import of a file, as a path relative to src/ (`.js` specifiers name `.ts` files). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
    relative(SRC, resolve(SRC, dirname(file), m[1]!)).replace(/\.js$/, '.ts'),
  );
}

const featureOf = (file: string) => FEATURES.find((f) => file.startsWith(`${f}/`));
const files = sources(SRC);
const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to })));

describe('collector layout', () => {
  it('has one folder per feature beside plugins/ and models/, and nothing else', () => {
    const folders = new Set(files.filter((f) => f.includes('/')).map((f) => f.split('/')[0]));
    expect([...folders].sort()).toEqual([...FEATURES, 'models', 'plugins'].sort());
    expect(files.filter((f) => !f.includes('/')).sort()).toEqual(
      ['app.ts', 'cli.ts', 'config.ts', 'errors.ts', 'index.ts', 'route-kit.ts', 'server.ts'].sort(),
    );
    for (const feature of FEATURES) expect(files).toContain(`${feature}/index.ts`);
  });

  it('every import names a file that exists', () => {
    const missing = edges.filter((e) => !files.includes(e.to)).map((e) => `${e.from} → ${e.to}`);
    expect(missing).toEqual([]);
  });

  it("features use each other only through their index.ts, never each other's internals", () => {
    const bad = edges.filter((e) => {
      const a = featureOf(e.from);
      const b = featureOf(e.to);
      return b && a !== b && e.to !== `${b}/index.ts`;
    });
    expect(bad.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('models, errors, config, the route kit and infrastructure plugins import no feature', () => {
    const shared = (f: string) =>
      f.startsWith('models/') ||
      ['errors.ts', 'config.ts', 'route-kit.ts'].includes(f) ||
      (f.startsWith('plugins/') && !WIRING.includes(f));
    const bad = edges.filter((e) => shared(e.from) && (featureOf(e.to) || WIRING.includes(e.to)));
    expect(bad.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('nothing imports upward: features never import the wiring, and only the entry points import app/server', () => {
    const bad = edges.filter(
      (e) =>
        (featureOf(e.from) && WIRING.includes(e.to)) ||
        (ENTRY.includes(e.to) && !ENTRY.includes(e.from)) ||
        (e.to === 'cli.ts' && e.from !== 'cli.ts'),
    );
    expect(bad.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('reaches MongoDB only through the models (no raw driver collections)', () => {
    const raw = files.filter((f) =>
      /\.collection\s*\.(find|insert|update|delete|bulkWrite|count)/.test(readFileSync(join(SRC, f), 'utf8')),
    );
    expect(raw).toEqual([]);
  });
});
