#!/usr/bin/env node
/**
 * The Dockerfile's runtime files, gathered into one directory (run after `npm ci --omit=dev`):
 *   node scripts/gather-runtime.mjs OUT packages/a packages/b …
 * copies the root package.json and node_modules (production dependencies only by then), and for each package
 * its package.json, what its `files` lists (as `npm publish` would ship; `!path` entries left out) and its own
 * node_modules when npm nested a second version of a dependency there.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const [out, ...packages] = process.argv.slice(2);
if (!out || !packages.length) {
  console.error('usage: gather-runtime.mjs OUT PACKAGE_DIR…');
  process.exit(2);
}
/** Files under `root` whose path relative to it matches a `files` glob (`*` within a name, `**` across folders). */
function matching(root, glob) {
  const body = glob
    .split('**/')
    .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
    .join('(?:.*/)?');
  const re = new RegExp(`^${body}$`);
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((path) => re.test(relative(root, path)));
}

const copy = (path) => {
  mkdirSync(dirname(join(out, path)), { recursive: true });
  cpSync(path, join(out, path), { recursive: true, verbatimSymlinks: true });
};
copy('package.json');
copy('node_modules');
for (const dir of packages) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  copy(join(dir, 'package.json'));
  const files = manifest.files ?? [];
  for (const entry of files.filter((f) => !f.startsWith('!'))) {
    if (!existsSync(join(dir, entry))) throw new Error(`${dir}: "${entry}" of files is missing; build first`);
    copy(join(dir, entry));
  }
  for (const entry of files.filter((f) => f.startsWith('!'))) {
    const pattern = entry.slice(1);
    if (!pattern.includes('*')) rmSync(join(out, dir, pattern), { recursive: true, force: true });
    else for (const path of matching(join(out, dir), pattern)) rmSync(path, { force: true });
  }
  if (existsSync(join(dir, 'node_modules'))) copy(join(dir, 'node_modules'));
}
