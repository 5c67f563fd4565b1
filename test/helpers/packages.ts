import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The fields of a package.json these tests read. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  main?: string;
  types?: string;
  exports?: unknown;
  files?: string[];
  dependencies?: Record<string, string>;
}

export interface Workspace {
  name: string;
  dir: string;
  manifest: Manifest;
}

/** Every publishable workspace: each non-private package under packages/ (examples are never published). */
export function publishablePackages(): Workspace[] {
  const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return (rootManifest.workspaces as string[])
    .filter((w) => w.startsWith('packages/') && existsSync(join(ROOT, w, 'package.json')))
    .map((w) => {
      const manifest: Manifest = JSON.parse(readFileSync(join(ROOT, w, 'package.json'), 'utf8'));
      return { name: manifest.name, dir: join(ROOT, w), manifest };
    })
    .filter((p) => !p.manifest.private);
}

export interface Packed extends Workspace {
  tarball: string;
  /** Bytes of the .tgz. */
  size: number;
  files: string[];
}

/**
 * `npm pack` of every publishable package (their `prepack` scripts run, as at publish) into a fresh temporary
 * directory outside the workspace. The packages must be built (`npm test` builds first).
 */
export async function packAll(): Promise<{ dir: string; packed: Packed[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'trackmate-pack-'));
  const packages = publishablePackages();
  const workspaceArgs = packages.flatMap((p) => ['-w', p.dir]);
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--pack-destination', dir, '--loglevel=error', ...workspaceArgs],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  const reports: { name: string; filename: string; size: number; files: { path: string }[] }[] = JSON.parse(stdout);
  const packed = packages.map((p) => {
    const report = reports.find((r) => r.name === p.name);
    if (!report) throw new Error(`npm pack did not pack ${p.name}`);
    return {
      ...p,
      tarball: join(dir, report.filename),
      size: report.size,
      files: report.files.map((f) => f.path),
    };
  });
  return { dir, packed };
}
