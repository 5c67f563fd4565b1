import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { cyclesOf } from '../../../../test/helpers/import-graph.js';

/**
 * The collector's layout, as rules on its imports: folders by feature, features talking only through each
 * other's index.ts, shared layers never importing features, and nothing importing upward.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FEATURES = [
  'analytics',
  'ingest',
  'pipeline',
  'events',
  'profiles',
  'campaigns',
  'segments',
  'webhooks',
  'rollups',
  'sites',
  'integrations',
  'funnels',
  'attribution',
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

/**
 * What a route file must not hold, found in its syntax tree: a type cast (`x as T`, `<T>x`; `as const` is no
 * cast), a `.lean<T>()` read typed by hand, or a model reached directly (`app.models.Site`, `models.Profile`,
 * `const { Trigger } = app.models`). Queries live in the features' repository functions, typed by the models.
 */
export function routeFileFaults(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const faults: string[] = [];
  const at = (node: ts.Node, what: string) =>
    faults.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${what}`);
  const isModels = (e: ts.Expression) =>
    (ts.isIdentifier(e) && e.text === 'models') || (ts.isPropertyAccessExpression(e) && e.name.text === 'models');
  const visit = (node: ts.Node) => {
    if (ts.isAsExpression(node) && node.type.getText() !== 'const') at(node, `cast: ${node.getText()}`);
    if (ts.isTypeAssertionExpression(node)) at(node, `cast: ${node.getText()}`);
    if (ts.isCallExpression(node) && node.typeArguments && ts.isPropertyAccessExpression(node.expression)) {
      if (node.expression.name.text === 'lean') at(node, `.lean<T>() cast: ${node.getText()}`);
    }
    if (ts.isPropertyAccessExpression(node) && isModels(node.expression) && /^[A-Z]/.test(node.name.text)) {
      at(node, `model queried directly: ${node.getText()}`);
    }
    if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer) {
      if (isModels(node.initializer)) at(node, `model queried directly: ${node.getText()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return faults;
}

/** A feature's HTTP API: `*-routes.ts` (or `*-route.ts` for one route). */
const routeFiles = files.filter((f) => /-routes?\.ts$/.test(f));

/** Where a file belongs for the feature graph: its feature, else its top folder or file (models, plugins/x.ts). */
const unitOf = (file: string) => featureOf(file) ?? (file.startsWith('models/') ? 'models' : file);

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

  it('has no import cycle between files, not even through types', () => {
    expect(cyclesOf(edges.filter((e) => files.includes(e.to)))).toEqual([]);
  });

  it('has no import cycle between features: each depends on the others one way only', () => {
    const between = edges.map((e) => ({ from: unitOf(e.from), to: unitOf(e.to) })).filter((e) => e.from !== e.to);
    expect(cyclesOf(between)).toEqual([]);
  });

  it('route handlers call repository functions: no route file queries a model or casts', () => {
    expect(routeFiles.length).toBeGreaterThan(25);
    expect(routeFiles.flatMap((f) => routeFileFaults(f, readFileSync(join(SRC, f), 'utf8')))).toEqual([]);
  });

  it('the route-file rule finds a cast, a hand-typed read and a model reached directly', () => {
    const faults = routeFileFaults(
      'x-routes.ts',
      [
        'const { Trigger } = app.models;',
        'const site = await app.models.Site.findById(id).lean<{ name: string }>();',
        'const n = site as unknown as number;',
        'const ok = { queued: true as const };',
      ].join('\n'),
    );
    expect(faults.map((f) => f.replace(/:.*?(\d+) ([^:]+):.*/, ':$1 $2'))).toEqual([
      'x-routes.ts:1 model queried directly',
      'x-routes.ts:2 .lean<T>() cast',
      'x-routes.ts:2 model queried directly',
      'x-routes.ts:3 cast',
      'x-routes.ts:3 cast',
    ]);
  });

  it('reaches MongoDB only through the models (no raw driver collections)', () => {
    const raw = files.filter((f) =>
      /\.collection\s*\.(find|insert|update|delete|bulkWrite|count)/.test(readFileSync(join(SRC, f), 'utf8')),
    );
    expect(raw).toEqual([]);
  });
});
