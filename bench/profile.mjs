// Where the collector's time goes: self time by function and by package from a V8 .cpuprofile (node --cpu-prof).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fmt, ROOT, table } from './lib.mjs';

function where(url) {
  if (!url) return '(native/V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (path.startsWith('node:')) return 'node core';
  return relative(ROOT, path);
}

/**
 * Reads every .cpuprofile in `dir`; returns { total, byFunction: [...], byPackage: [...] } of self time in ms,
 * leaving out the first `skipMs` of each profile (start-up: module loading, schema compilation).
 */
export function analyzeProfiles(dir, { skipMs = 0 } = {}) {
  const byFn = new Map();
  const byPkg = new Map();
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const self = new Map();
    let at = 0;
    for (let i = 0; i < p.samples.length; i++) {
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      at += dt;
      if (at < skipMs) continue;
      self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
    }
    for (const [id, ms] of self) {
      const cf = nodes.get(id).callFrame;
      if (cf.functionName === '(idle)' || cf.functionName === '(program)') continue;
      total += ms;
      const pkg = cf.url
        ? where(cf.url)
        : cf.functionName === '(garbage collector)'
          ? '(garbage collector)'
          : '(native/V8)';
      const key = `${cf.functionName || '(anonymous)'}  ${pkg}${cf.url && !cf.url.includes('node_modules') ? '' : ''}:${cf.lineNumber + 1}`;
      byFn.set(key, (byFn.get(key) ?? 0) + ms);
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + ms);
    }
  }
  const sorted = (m) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms, share: total ? ms / total : 0 }));
  return { total, byFunction: sorted(byFn), byPackage: sorted(byPkg) };
}

export function printProfile(title, a, top = 15) {
  table(
    `${title} — busy CPU ${fmt.n(a.total)} ms; self time by package`,
    ['package / file', 'self ms', 'share'],
    a.byPackage.slice(0, top).map((r) => [r.name, fmt.n(r.ms), fmt.pct(r.share)]),
  );
  table(
    `${title} — top functions by self time`,
    ['function  where:line', 'self ms', 'share'],
    a.byFunction.slice(0, top).map((r) => [r.name, fmt.n(r.ms), fmt.pct(r.share)]),
  );
}
