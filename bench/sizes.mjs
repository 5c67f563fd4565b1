// 1. SDK size: the browser package's own measurement (packages/browser/scripts/size.mjs), beside the budgets.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, ROOT, table } from './lib.mjs';

export async function benchSizes() {
  const script = join(ROOT, 'packages/browser/scripts/size.mjs');
  if (!existsSync(join(ROOT, 'packages/browser/dist/trackmate.min.js')) || !existsSync(script)) {
    const reason = 'packages/browser is not built (npm run build)';
    console.log(`\n1. SDK size: skipped, ${reason}`);
    return { skipped: reason };
  }
  const { measure, BUDGETS } = await import(pathToFileURL(script).href);
  const r = await measure();
  const rows = [
    [
      'core ESM app (init + track)',
      fmt.n(r.core.min),
      fmt.n(r.core.gzip),
      fmt.n(r.core.brotli),
      fmt.n(BUDGETS.core),
      fmt.pct(r.core.brotli / BUDGETS.core),
    ],
    ...Object.entries(r.plugins).map(([p, s]) => [`  + ${p}`, fmt.n(s.min), fmt.n(s.gzip), fmt.n(s.brotli), '', '']),
    [
      'full IIFE (trackmate.min.js)',
      fmt.n(r.iife.min),
      fmt.n(r.iife.gzip),
      fmt.n(r.iife.brotli),
      fmt.n(BUDGETS.iife),
      fmt.pct(r.iife.brotli / BUDGETS.iife),
    ],
  ];
  table(
    '1. SDK size (bytes; minified with terser, gzip -9, brotli 11)',
    ['artifact', 'min', 'gzip', 'brotli', 'budget', 'of budget'],
    rows,
  );
  return { ...r, budgets: BUDGETS };
}
