// Builds dist/esm (tsc: .js + .d.ts) and dist/cjs (rollup bundle .cjs + .d.cts copied from the ESM types
// with their relative specifiers renamed), so that both `import` and `require` get matching types.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const esm = join(root, 'dist/esm');
const cjs = join(root, 'dist/cjs');

rmSync(join(root, 'dist'), { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);

const bundle = await rollup({
  input: join(esm, 'index.js'),
  external: (id) => id.startsWith('node:'),
});
await bundle.write({
  file: join(cjs, 'index.cjs'),
  format: 'cjs',
  exports: 'named',
  generatedCode: 'es2015',
});
await bundle.close();

mkdirSync(cjs, { recursive: true });
for (const name of readdirSync(esm)) {
  if (!name.endsWith('.d.ts')) continue;
  const types = readFileSync(join(esm, name), 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.js(['"])/g, '$1.cjs$2');
  writeFileSync(join(cjs, name.replace(/\.d\.ts$/, '.d.cts')), types);
}
