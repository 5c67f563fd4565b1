// Copies the browser SDK's script-tag build into public/sdk.js, with brotli and gzip copies beside it, so the
// collector serves /sdk.js from its own package (installed from npm too) without compressing per request.
// `--strict` (npm pack / publish) fails instead of warning, so no tarball ships without /sdk.js.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'public');
const require = createRequire(import.meta.url);
let raw;
try {
  raw = readFileSync(join(dirname(require.resolve('@trackmate/browser/package.json')), 'dist', 'trackmate.min.js'));
} catch (err) {
  if (process.argv.includes('--strict')) {
    console.error(`copy-sdk: no browser SDK build (${err.code}); build @trackmate/browser before packing`);
    process.exit(1);
  }
  console.warn(`copy-sdk: no browser SDK build (${err.code}); /sdk.js answers 404 until @trackmate/browser is built`);
  process.exit(0);
}
// already there (a second `npm pack` running beside the first must not rewrite files being packed)
const same = (name) => existsSync(join(out, name));
if (same('sdk.js.br') && same('sdk.js.gz') && same('sdk.js') && readFileSync(join(out, 'sdk.js')).equals(raw)) {
  process.exit(0);
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'sdk.js'), raw);
writeFileSync(join(out, 'sdk.js.br'), brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
writeFileSync(join(out, 'sdk.js.gz'), gzipSync(raw, { level: 9 }));
