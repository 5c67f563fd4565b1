import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cyclesOf, importEdges, sourceFiles } from './helpers/import-graph.js';
import { ROOT } from './helpers/packages.js';

/**
 * No package's files import one another in a cycle, not even through types (the collector's own rules, by
 * feature, are in its layout test): a cycle ties files together so that none can be read, moved or tested alone.
 */
const PACKAGES = ['core/src', 'schema/src', 'browser/src', 'node/src', 'console'];

describe('import cycles', () => {
  it('finds a cycle when there is one (two files, and one file importing itself)', () => {
    const links = [
      { from: 'a.ts', to: 'b.ts' },
      { from: 'b.ts', to: 'a.ts' },
      { from: 'b.ts', to: 'c.ts' },
      { from: 'd.ts', to: 'd.ts' },
    ];
    expect(cyclesOf(links)).toEqual([['a.ts', 'b.ts'], ['d.ts']]);
  });

  for (const pkg of PACKAGES) {
    it(`packages/${pkg} has no import cycle between its files`, () => {
      const dir = join(ROOT, 'packages', pkg);
      const files = sourceFiles(dir);
      const edges = importEdges(dir, files);
      expect(edges.length).toBeGreaterThan(1);
      expect(cyclesOf(edges)).toEqual([]);
    });
  }
});
