import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM script without declarations
import { BUDGETS, bundleApp, measure, PLUGINS } from '../scripts/size.mjs';

type Size = { min: number; gzip: number; brotli: number };
const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');

/** Newest modification time under a directory. */
const newest = (dir: string): number =>
  Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((d) =>
      d.isDirectory() ? newest(join(dir, d.name)) : statSync(join(dir, d.name)).mtimeMs,
    ),
  );

let sizes: { core: Size; iife: Size; plugins: Record<string, Size> };

beforeAll(async () => {
  // Measure the artifacts of the current source: rebuild when dist is missing or older than src.
  const built = join(dist, 'trackmate.min.js');
  if (!existsSync(built) || statSync(built).mtimeMs < newest(join(root, 'src'))) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }
  sizes = await measure();
  console.log(JSON.stringify(sizes));
}, 120_000);

describe('bundle size (minified + brotli)', () => {
  it(`core (an app importing init and track) fits ${BUDGETS.core} B`, () => {
    expect(sizes.core.brotli).toBeLessThanOrEqual(BUDGETS.core);
  });

  it(`the full script-tag build with all auto-capture fits ${BUDGETS.iife} B`, () => {
    expect(sizes.iife.brotli).toBeLessThanOrEqual(BUDGETS.iife);
  });

  it('an app that imports only the core ships no plugin code', async () => {
    const code: string = await bundleApp(
      `import { init, track } from '@trackmate/browser'; init({ writeKey: 'k' }); track('x');`,
    );
    for (const marker of ['pushState', 'deep_scroll', 'button_click', 'form_submit', 'active_site', 'page_view']) {
      expect(code).not.toContain(marker);
    }
    expect(code).toContain('sendBeacon');
  });

  it('each plugin is measured and costs well under 1 KB on top of the core', () => {
    expect(Object.keys(sizes.plugins)).toEqual(PLUGINS);
    for (const p of PLUGINS) expect(sizes.plugins[p]!.brotli).toBeGreaterThan(0);
    for (const p of PLUGINS) expect(sizes.plugins[p]!.brotli).toBeLessThan(1024);
  });

  it('the script-tag build carries no TypeBox (types come from @trackmate/schema with import type only)', () => {
    const code = readFileSync(join(dist, 'trackmate.min.js'), 'utf8');
    expect(code).not.toMatch(/typebox|TypeBox|\[Kind\]/);
    expect(code).toContain('/api/track/event?writeKey=');
  });

  it('inlines @trackmate/core: no published file, code or types, imports it (users do not install it)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
        d.isDirectory() ? files(join(dir, d.name)) : [join(dir, d.name)],
      );
    const published = files(dist).filter((f) => /\.(js|d\.ts)$/.test(f));
    expect(published.some((f) => f.endsWith('.d.ts'))).toBe(true);
    for (const f of published) expect(readFileSync(f, 'utf8'), f).not.toMatch(/['"]@trackmate\/core['"]/);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.dependencies).toBeUndefined();
  });
});
