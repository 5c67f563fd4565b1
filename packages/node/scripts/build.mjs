// Builds dist/esm (index.js bundle + .d.ts) and dist/cjs (index.cjs bundle + .d.cts, the ESM types with their
// relative specifiers renamed), so that both `import` and `require` get matching types.
// Both bundles inline @trackmate/core (a devDependency): the published package has zero runtime dependencies.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { rollup } from 'rollup';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const esm = join(root, 'dist/esm');
const cjs = join(root, 'dist/cjs');
/** tsc's per-module output, bundled from and then removed. */
const tscOut = join(root, 'dist/tsc');

rmSync(join(root, 'dist'), { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', tscOut], {
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);

const bundle = await rollup({
  input: join(tscOut, 'index.js'),
  external: (id) => id.startsWith('node:'),
  plugins: [nodeResolve()],
});
await bundle.write({ file: join(esm, 'index.js'), format: 'es', generatedCode: 'es2015' });
await bundle.write({ file: join(cjs, 'index.cjs'), format: 'cjs', exports: 'named', generatedCode: 'es2015' });
await bundle.close();

for (const name of readdirSync(tscOut)) {
  if (!name.endsWith('.d.ts')) continue;
  const types = readFileSync(join(tscOut, name), 'utf8');
  if (/['"]@trackmate\/core['"]/.test(types)) {
    throw new Error(`${name} refers to @trackmate/core, which users do not install: declare the type in this package`);
  }
  writeFileSync(join(esm, name), types);
  const cjsTypes = types.replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.js(['"])/g, '$1.cjs$2');
  writeFileSync(join(cjs, name.replace(/\.d\.ts$/, '.d.cts')), cjsTypes);
}
rmSync(tscOut, { recursive: true, force: true });
