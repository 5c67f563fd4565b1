#!/usr/bin/env node
/**
 * Size of what users ship, minified (terser) then compressed: brotli at max quality and gzip -9.
 * - core: an app that imports only `init` and `track` from the ESM build (batching, beacon, retry,
 *   persistence, consent and identity included, since every tracker has them);
 * - each plugin: what adding it to that app costs;
 * - iife: dist/trackmate.min.js as served at /sdk.js (everything, all auto-capture).
 * Used by test/size.test.ts (which fails above the budgets) and by `npm run size -w packages/browser`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { rollup } from 'rollup';
import { minify } from 'terser';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

export const BUDGETS = { core: 2500, iife: 5000 };
export const PLUGINS = ['page-view', 'active-site', 'deep-scroll', 'button-click', 'form-submit'];
const camel = (s) => s.replace(/-(\w)/g, (_, c) => c.toUpperCase());

export const sizes = (code) => ({
  min: Buffer.byteLength(code),
  gzip: gzipSync(code, { level: 9 }).length,
  brotli: brotliCompressSync(code, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(code),
    },
  }).length,
});

/** Bundles an app entry (source text importing from dist) the way an app's bundler would, and minifies it. */
export const bundleApp = async (source) => {
  const id = '\0app';
  const bundle = await rollup({
    input: id,
    treeshake: true,
    plugins: [
      {
        name: 'app',
        resolveId: (s) =>
          s === id
            ? id
            : s.startsWith('@trackmate/browser')
              ? join(dist, s.slice(19) ? `plugins/${s.slice(19)}.js` : 'index.js')
              : null,
        load: (s) => (s === id ? source : null),
      },
    ],
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  const { code } = await minify(output[0].code, { ecma: 2020, module: true, compress: { passes: 3 } });
  return code;
};

const app = (plugins = []) =>
  [
    `import { init, track } from '@trackmate/browser';`,
    ...plugins.map((p) => `import { ${camel(p)} } from '@trackmate/browser/${p}';`),
    `init({ writeKey: 'pk_test', plugins: [${plugins.map((p) => `${camel(p)}()`).join(', ')}] });`,
    `track('signup', { plan: 'pro' });`,
  ].join('\n');

export const measure = async () => {
  const core = sizes(await bundleApp(app()));
  const result = { core, iife: sizes(await readFile(join(dist, 'trackmate.min.js'), 'utf8')), plugins: {} };
  for (const p of PLUGINS) {
    const withPlugin = sizes(await bundleApp(app([p])));
    result.plugins[p] = {
      min: withPlugin.min - core.min,
      gzip: withPlugin.gzip - core.gzip,
      brotli: withPlugin.brotli - core.brotli,
    };
  }
  return result;
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await measure();
  const row = (name, s, budget) =>
    `${name.padEnd(22)} ${String(s.min).padStart(6)} ${String(s.gzip).padStart(6)} ${String(s.brotli).padStart(7)}${budget ? `   (budget ${budget})` : ''}`;
  console.log(`${'artifact'.padEnd(22)} ${'min'.padStart(6)} ${'gzip'.padStart(6)} ${'brotli'.padStart(7)}   bytes`);
  console.log(row('core (init + track)', r.core, BUDGETS.core));
  for (const [p, s] of Object.entries(r.plugins)) console.log(row(`  + ${p}`, s));
  console.log(row('trackmate.min.js', r.iife, BUDGETS.iife));
}
