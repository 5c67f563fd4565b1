/**
 * Import graphs of source files, for the layout tests: the collector's (packages/collector/src/__tests__/layout.test.ts)
 * and every other package's (test/import-cycles.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The cycles of a graph: its strongly connected components of more than one node, or of one node importing
 * itself (Tarjan's algorithm), each listed from its first node in name order.
 */
export function cyclesOf(links: Array<{ from: string; to: string }>): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of links) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let n: string;
    do {
      n = stack.pop()!;
      onStack.delete(n);
      component.push(n);
    } while (n !== node);
    if (component.length > 1 || next.get(node)?.includes(node)) found.push(component.sort());
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Source files of a folder (paths relative to it), without tests, builds or dependencies. */
export function sourceFiles(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((d) => {
    const path = sub ? `${sub}/${d.name}` : d.name;
    if (d.isDirectory()) return SKIPPED.has(d.name) ? [] : sourceFiles(dir, path);
    return /\.tsx?$/.test(d.name) && !/\.test\.tsx?$/.test(d.name) && !d.name.endsWith('.d.ts') ? [path] : [];
  });
}
const SKIPPED = new Set(['node_modules', 'dist', '.next', '.turbo', 'test', '__tests__']);

/**
 * The imports between `files` (relative to `dir`): relative specifiers (`./x.js` names `x.ts`, `./x` names `x.ts`,
 * `x.tsx` or `x/index.ts`) and the `@/` alias of the folder's root (the console's); packages are left out.
 */
export function importEdges(dir: string, files: string[]): Array<{ from: string; to: string }> {
  const known = new Set(files);
  return files.flatMap((from) => {
    const text = readFileSync(join(dir, from), 'utf8');
    return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+|@\/[^']+)'/g)].flatMap((m) => {
      const spec = m[1]!;
      const base = (spec.startsWith('@/') ? spec.slice(2) : relative(dir, resolve(dir, dirname(from), spec))).replace(
        /\.js$/,
        '',
      );
      const to = [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`, base].find((c) => known.has(c));
      return to ? [{ from, to }] : [];
    });
  });
}
