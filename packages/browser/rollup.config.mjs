import { rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

// Start from an empty dist, so that modules deleted from src are not published from an earlier build.
rmSync('dist', { recursive: true, force: true });

/** One TypeScript setup for both builds; declarations come from `tsc -p tsconfig.build.json`. */
const ts = () =>
  typescript({
    tsconfig: false,
    include: ['src/**/*.ts'],
    exclude: ['**/*.test.ts'],
    compilerOptions: {
      target: 'ES2020',
      module: 'ESNext',
      moduleResolution: 'Bundler',
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      strict: true,
      verbatimModuleSyntax: true,
      declaration: false,
      sourceMap: false,
      types: [],
    },
  });

/**
 * @trackmate/core (limits, backoff, batch splitting) is a devDependency: both builds inline it, so users
 * install nothing besides this package. In the ESM build its modules land in dist/shared/.
 */
const coreDist = dirname(fileURLToPath(import.meta.resolve('@trackmate/core')));
const fileName = (chunk) =>
  chunk.facadeModuleId?.startsWith(coreDist) ? `shared/${basename(chunk.facadeModuleId)}` : '[name].js';

export const plugins = ['page-view', 'active-site', 'deep-scroll', 'button-click', 'form-submit'];

export default [
  {
    // ESM, one file per module, unminified: the app's bundler tree-shakes and minifies.
    input: ['src/index.ts', 'src/cookie-store.ts', ...plugins.map((p) => `src/plugins/${p}.ts`)],
    output: { dir: 'dist', format: 'es', preserveModules: true, preserveModulesRoot: 'src', entryFileNames: fileName },
    plugins: [nodeResolve(), ts()],
  },
  {
    // The <script> build, served by the collector at /sdk.js.
    input: 'src/iife.ts',
    output: { file: 'dist/trackmate.min.js', format: 'iife', sourcemap: false },
    plugins: [nodeResolve(), ts(), terser({ ecma: 2020, compress: { passes: 3 }, format: { comments: false } })],
  },
];
