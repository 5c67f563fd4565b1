import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/packages.js';

/** The repository explains itself: docs/architecture.md is the map, and nothing points readers outside it. */
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.endsWith('package-lock.json') && existsSync(join(ROOT, f)));

describe('the repository map', () => {
  it('no tracked file points readers to a design brief outside the repository', () => {
    // written in two pieces so that this file does not match itself
    const outside = [
      new RegExp(['DESIGN', '(\\.md| §)'].join('')),
      new RegExp(['the', 'specification'].join(' '), 'i'),
    ];
    const offenders = tracked.filter((f) => {
      const text = readFileSync(join(ROOT, f), 'utf8');
      return outside.some((re) => re.test(text));
    });
    expect(offenders).toEqual([]);
  });

  it("every source file docs/architecture.md names exists (an event's path stays true)", () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const named = [...doc.matchAll(/`((?:packages\/)?[a-z]+\/src\/[\w/.-]+\.ts)`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(5);
    const missing = named.filter((p) => !existsSync(join(ROOT, p.startsWith('packages/') ? p : `packages/${p}`)));
    expect(missing).toEqual([]);
  });

  it("every repository module of the collector's table exists, and every one that exists is in the table", () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const named = new Set([...doc.matchAll(/`([\w-]+-repository\.ts)`/g)].map((m) => m[1]!));
    const present = tracked
      .filter((f) => f.startsWith('packages/collector/src/') && f.endsWith('-repository.ts'))
      .map((f) => f.slice(f.lastIndexOf('/') + 1));
    expect(present.length).toBeGreaterThan(5);
    expect([...named].sort()).toEqual([...new Set(present)].sort());
  });

  it('every file of the event path from HTTP to MongoDB exists in the collector', () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const list = doc.split('### The same path as a list of files')[1]?.split('\n## ')[0] ?? '';
    const named = [...list.matchAll(/`([\w/.-]+\.ts)`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(20);
    const src = join(ROOT, 'packages/collector/src');
    // a bare file name stands in the folder of the path named before it on the same line
    const missing = list.split('\n').flatMap((line) => {
      let folder = '';
      return [...line.matchAll(/`([\w/.-]+\.ts)`/g)].flatMap(([, name]) => {
        const path = name!.includes('/') ? name! : `${folder}${name}`;
        if (name!.includes('/')) folder = name!.slice(0, name!.lastIndexOf('/') + 1);
        return existsSync(join(src, path)) ? [] : [path];
      });
    });
    expect(missing).toEqual([]);
  });
});
