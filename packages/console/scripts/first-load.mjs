#!/usr/bin/env node
// First-load JavaScript per page of the built console (`next build` of Next 16 no longer prints it): the root
// chunks every page loads plus the page's own entry chunks (layouts included), minified, and gzipped as sent.
// Chunks loaded later (uPlot, imported when a chart mounts) are listed apart. Usage: node scripts/first-load.mjs [dir]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
const next = join(dir, '.next');
const build = JSON.parse(readFileSync(join(next, 'build-manifest.json'), 'utf8'));
const size = (file) => {
  const buf = readFileSync(join(next, file));
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
};
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;

function manifests(root) {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    if (statSync(path).isDirectory()) return manifests(path);
    return name === 'page_client-reference-manifest.js' ? [path] : [];
  });
}

const rows = [];
const seen = new Set();
for (const file of manifests(join(next, 'server/app'))) {
  globalThis.__RSC_MANIFEST = {};
  new Function(readFileSync(file, 'utf8'))();
  const [[route, manifest]] = Object.entries(globalThis.__RSC_MANIFEST);
  const chunks = new Set(build.rootMainFiles);
  for (const files of Object.values(manifest.entryJSFiles ?? {})) for (const f of files) chunks.add(f);
  for (const c of chunks) seen.add(c);
  const total = [...chunks]
    .map(size)
    .reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 });
  const path = route.replace(/\/page$/, '').replace(/\/\([^)]+\)/g, '') || '/';
  if (path.startsWith('/_')) continue;
  rows.push({ path, ...total });
}
rows.sort((a, b) => a.path.localeCompare(b.path));
const shared = build.rootMainFiles.map(size).reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }));
console.log(`First-load JS of ${relative(process.cwd(), dir) || '.'} (gzip / minified):`);
for (const r of rows) console.log(`  ${r.path.padEnd(24)} ${kb(r.gzip).padStart(9)}  ${kb(r.raw).padStart(9)}`);
console.log(`  shared by all            ${kb(shared.gzip).padStart(9)}  ${kb(shared.raw).padStart(9)}`);
const later = readdirSync(join(next, 'static/chunks'))
  .map((f) => `static/chunks/${f}`)
  .filter((f) => f.endsWith('.js') && !seen.has(f) && !build.polyfillFiles.includes(f))
  .map((f) => ({ f, ...size(f) }))
  .filter((c) => readFileSync(join(next, c.f), 'utf8').includes('u-wrap'));
for (const c of later)
  console.log(`  loaded with the charts   ${kb(c.gzip).padStart(9)}  ${kb(c.raw).padStart(9)}  (uPlot, ${c.f})`);
