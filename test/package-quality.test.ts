import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, type Packed, packAll, ROOT, run } from './helpers/packages.js';

/**
 * What `npm publish` would ship, checked the way a user's tools see it: publint and are-the-types-wrong on the
 * packed tarballs, a LICENSE and README in each, `files` naming only what exists, no unused dependency, and the
 * pending changesets readable by `changeset version`.
 */
let packed: Packed[] = [];
let packDir = '';

beforeAll(async () => {
  ({ dir: packDir, packed } = await packAll());
}, 120_000);

afterAll(async () => {
  if (packDir) await run('rm', ['-rf', packDir]);
});

/** True when no export of the package has a `require` condition: an ESM-only package. */
const esmOnly = (manifest: Manifest) => !JSON.stringify(manifest.exports ?? {}).includes('"require"');

/** Folders of a package whose code never runs at the user's place. */
const NOT_SHIPPED = new Set([
  'node_modules',
  '.next',
  '.turbo',
  'dist',
  'test',
  'tests',
  '__tests__',
  'scripts',
  'bench',
]);

/** Source files of a package that run at the user's place (not tests, build scripts or build configuration). */
function sourceFiles(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const path = join(d, e.name);
      if (e.isDirectory()) return NOT_SHIPPED.has(e.name) || e.name.startsWith('test-') ? [] : walk(path);
      return /\.(m|c)?[jt]sx?$/.test(e.name) && !/\.test\.|^(rollup|vitest|vite)\.config\./.test(e.name) ? [path] : [];
    });
  return walk(dir);
}

const peersOf = (dep: string): string[] => {
  try {
    return Object.keys(
      JSON.parse(readFileSync(join(ROOT, 'node_modules', dep, 'package.json'), 'utf8')).peerDependencies ?? {},
    );
  } catch {
    return [];
  }
};

describe('published packages', () => {
  it('are all packed', () => {
    expect(packed.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        '@trackmate/schema',
        '@trackmate/core',
        '@trackmate/browser',
        '@trackmate/node',
        '@trackmate/collector',
      ]),
    );
  });

  it('are publint clean', async () => {
    const problems: string[] = [];
    for (const p of packed) {
      const tarball = readFileSync(p.tarball);
      const { messages, pkg } = await publint({
        pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
        level: 'suggestion',
      });
      for (const m of messages) problems.push(`${p.name}: ${m.type} ${formatMessage(m, pkg, { color: false })}`);
    }
    expect(problems).toEqual([]);
  });

  it('are are-the-types-wrong clean (ESM-only packages with the esm-only profile)', async () => {
    const attw = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    const failures: string[] = [];
    // an application shipped as a command only (no exports, main or types) has no types to check
    const libraries = packed.filter((p) => p.manifest.exports || p.manifest.main || p.manifest.types);
    await Promise.all(
      libraries.map(async (p) => {
        const profile = esmOnly(p.manifest) ? 'esm-only' : 'strict';
        try {
          await run(process.execPath, [attw, p.tarball, '--profile', profile, '--format', 'ascii', '--no-color'], {
            maxBuffer: 16 * 1024 * 1024,
          });
        } catch (err) {
          failures.push(`${p.name} (${profile}):\n${(err as { stdout?: string }).stdout ?? String(err)}`);
        }
      }),
    );
    expect(failures).toEqual([]);
  });

  it('ship the MIT LICENSE and a README', () => {
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    for (const p of packed) {
      expect(p.files, p.name).toContain('LICENSE');
      expect(p.files, p.name).toContain('README.md');
      expect(readFileSync(join(p.dir, 'LICENSE'), 'utf8'), `${p.name}/LICENSE`).toBe(license);
      expect(p.manifest.license, p.name).toBe('MIT');
    }
  });

  it('list in `files` only what exists, and every listed path is in the tarball', () => {
    const missing: string[] = [];
    for (const p of packed) {
      for (const entry of p.manifest.files ?? []) {
        if (entry.startsWith('!')) continue;
        const prefix = entry.replace(/\/$/, '');
        if (!existsSync(join(p.dir, prefix))) missing.push(`${p.name}: "${entry}" does not exist`);
        else if (!p.files.some((f) => f === prefix || f.startsWith(`${prefix}/`)))
          missing.push(`${p.name}: "${entry}" is not in the tarball`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('have no unused dependencies (each is imported by the shipped code, or is a peer of one that is)', () => {
    const unused: string[] = [];
    for (const p of packed) {
      const deps = Object.keys(p.manifest.dependencies ?? {});
      const text = sourceFiles(p.dir)
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n');
      const imported = (dep: string) => new RegExp(`['"]${dep.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(text);
      const used = deps.filter(imported);
      const peers = new Set(used.flatMap(peersOf));
      for (const dep of deps) if (!imported(dep) && !peers.has(dep)) unused.push(`${p.name}: ${dep}`);
    }
    expect(unused).toEqual([]);
  });

  it('@trackmate/schema needs nothing at run time but typebox (its only dependency)', () => {
    const schema = packed.find((p) => p.name === '@trackmate/schema')!;
    expect(Object.keys(schema.manifest.dependencies ?? {})).toEqual(['typebox']);
  });

  it('the collector tarball carries /sdk.js (brotli and gzip copies too)', () => {
    const collector = packed.find((p) => p.name === '@trackmate/collector')!;
    expect(collector.files).toEqual(
      expect.arrayContaining(['public/sdk.js', 'public/sdk.js.br', 'public/sdk.js.gz', 'dist/cli.js']),
    );
  });
});

describe('changesets', () => {
  it.skipIf(!existsSync(join(ROOT, '.git')))('`changeset status` reads every pending changeset', async () => {
    const bin = join(ROOT, 'node_modules/@changesets/cli/bin.js');
    const { stdout, stderr } = await run(process.execPath, [bin, 'status'], { cwd: ROOT }).catch((err) => {
      throw new Error(`changeset status failed:\n${err.stdout}\n${err.stderr}`);
    });
    expect(`${stdout}${stderr}`).not.toMatch(/error/i);
  });
});
