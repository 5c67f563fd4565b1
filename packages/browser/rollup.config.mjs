import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

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

export const plugins = ['page-view', 'active-site', 'deep-scroll', 'button-click', 'form-submit'];

export default [
  {
    // ESM, one file per module, unminified: the app's bundler tree-shakes and minifies.
    input: ['src/index.ts', ...plugins.map((p) => `src/plugins/${p}.ts`)],
    output: { dir: 'dist', format: 'es', preserveModules: true, preserveModulesRoot: 'src' },
    plugins: [ts()],
  },
  {
    // The <script> build, served by the collector at /sdk.js.
    input: 'src/iife.ts',
    output: { file: 'dist/trackmate.min.js', format: 'iife', sourcemap: false },
    plugins: [ts(), terser({ ecma: 2020, compress: { passes: 3 }, format: { comments: false } })],
  },
];
