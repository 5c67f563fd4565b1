import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/packages.js';

/**
 * The CI workflow cannot run here, so actionlint (rhysd/actionlint: expressions, contexts, runner labels, action
 * inputs, shell scripts) checks it. `npm test` installs it (scripts/ensure-actionlint.sh) and passes its path.
 */
const actionlint =
  process.env.ACTIONLINT ||
  execFileSync('bash', [join(ROOT, 'scripts/ensure-actionlint.sh')])
    .toString()
    .trim();
const lint = (file: string) => spawnSync(actionlint, ['-no-color', file], { cwd: ROOT, encoding: 'utf8' });

describe('.github/workflows/ci.yml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-actionlint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes actionlint', () => {
    const run = lint('.github/workflows/ci.yml');
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('actionlint fails a workflow with a mistake (a context that does not exist)', () => {
    const ci = readFileSync(join(ROOT, '.github/workflows/ci.yml'), 'utf8');
    const broken = join(dir, 'ci.yml');
    writeFileSync(broken, ci.replace('${{ matrix.node }}', '${{ matrix.nodes }}'));
    const run = lint(broken);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('nodes');
  });
});
