import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDockerfile } from '../scripts/dockerfile.mjs';
import { ROOT } from './helpers/packages.js';

/**
 * The deployment files, checked without a Docker engine: compose.yaml against docs/configuration.md and the
 * Dockerfile, the Dockerfile's shape. `node scripts/check-dockerfile.mjs` replays the Dockerfile's commands.
 */
type Service = {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[]; disable?: boolean };
};
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1)!;

/** Every variable named in the first column of docs/configuration.md's table (`PORT` / `HOST` counts twice). */
const documented = new Set(
  readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => [...l.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)),
);

const ourServices = Object.entries(services).filter(([, s]) => s.image?.startsWith('trackmate'));
const collector = services.collector!;
const envOf = (s: Service) => s.environment ?? {};
/** A compose value with its `${VAR:-default}` replaced by the default. */
const resolved = (v: string) => v.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

/**
 * The Compose Specification's JSON schema (compose-spec.json of github.com/compose-spec/compose-go v2.17.0,
 * Apache-2.0, what `docker compose` validates with), vendored in test/fixtures so no network is needed.
 */
const composeSchema = new Ajv2020({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(join(ROOT, 'test/fixtures/compose-spec.json'), 'utf8')),
);

describe('compose.yaml', () => {
  it('is valid against the Compose Specification schema (docker compose would load it)', () => {
    const valid = composeSchema(parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }));
    expect(composeSchema.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check refuses what docker compose would refuse (a misspelt key, a bad port)', () => {
    const broken = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    broken.services.collector!.helthcheck = { test: ['CMD', 'true'] };
    broken.services.worker!.ports = [{ target: 8080, publish: '8080' }];
    expect(composeSchema(broken)).toBe(false);
    const errors = JSON.stringify(composeSchema.errors);
    expect(errors).toContain('"unevaluatedProperty":"helthcheck"');
    expect(errors).toContain('"instancePath":"/services/worker/ports/0"');
    expect(errors).toContain('"additionalProperty":"publish"');
  });

  it('runs MongoDB, Redis, the collector, two workers and the console', () => {
    expect(Object.keys(services).sort()).toEqual(['collector', 'console', 'mongodb', 'redis', 'worker']);
    expect(services.worker!.deploy?.replicas).toBe(2);
    expect(services.worker!.command).toEqual(['node', 'packages/collector/dist/cli.js', 'worker']);
    expect(collector.command).toEqual(['node', 'packages/collector/dist/cli.js', 'start', '--no-worker']);
    expect(services.mongodb!.image).toMatch(/^mongo:[6-9]/);
    expect(services.redis!.image).toMatch(/^redis:7/);
  });

  it('sets only documented variables, and the ones a deployment needs', () => {
    for (const [name, service] of ourServices.filter(([n]) => n !== 'console')) {
      const unknown = Object.keys(envOf(service)).filter((v) => !documented.has(v));
      expect(unknown, name).toEqual([]);
      expect(envOf(service), name).toHaveProperty('MONGODB_URI');
      expect(envOf(service), name).toHaveProperty('REDIS_URL');
      expect(envOf(service), name).toHaveProperty('TRACKMATE_PUBLIC_URL');
    }
    expect(envOf(collector).HOST).toBe('0.0.0.0');
  });

  it('points every process at the services of the file', () => {
    for (const [name, service] of ourServices.filter(([n]) => n !== 'console')) {
      const env = envOf(service);
      expect(new URL(resolved(env.MONGODB_URI!)).hostname, name).toBe('mongodb');
      expect(new URL(resolved(env.REDIS_URL!)).hostname, name).toBe('redis');
    }
    const consoleArgs = services.console!.command!;
    const collectorUrl = new URL(consoleArgs[consoleArgs.indexOf('--collector') + 1]!);
    expect(collectorUrl.hostname).toBe('collector');
    expect(collectorUrl.port).toBe(envOf(collector).PORT);
  });

  it('publishes the ports the processes listen on, on 127.0.0.1 unless told otherwise', () => {
    expect(collector.ports!.map(resolved)).toEqual([`127.0.0.1:${envOf(collector).PORT}:${envOf(collector).PORT}`]);
    const args = services.console!.command!;
    const port = args[args.indexOf('--port') + 1];
    expect(services.console!.ports!.map(resolved)).toEqual([`127.0.0.1:${port}:${port}`]);
    expect(args[args.indexOf('--host') + 1]).toBe('0.0.0.0');
    expect(services.worker!.ports).toBeUndefined();
  });

  it('runs Redis with AOF (everysec) and noeviction, and keeps both databases on volumes', () => {
    const redis = services.redis!.command!.join(' ');
    expect(redis).toMatch(/--appendonly yes/);
    expect(redis).toMatch(/--appendfsync everysec/);
    expect(redis).toMatch(/--maxmemory-policy noeviction/);
    for (const name of ['mongodb', 'redis']) {
      const volume = services[name]!.volumes?.[0]?.split(':')[0];
      expect(volume && volume in compose.volumes, name).toBe(true);
    }
  });

  // Regression (issue 22): TRACKMATE_TRUST_PROXY defaulted to false beside a comment saying "one hop", and both
  // ports were published on every interface
  it('trusts proxies by address, and gives the console its proxy hop and the shared secret', () => {
    const trust = resolved(envOf(collector).TRACKMATE_TRUST_PROXY!);
    expect(trust.split(',')).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
    const consoleEnv = envOf(services.console!);
    expect(consoleEnv.TRACKMATE_CONSOLE_ALLOW_HTTP).toBe('true');
    expect(resolved(consoleEnv.TRACKMATE_CONSOLE_TRUST_PROXY!)).toBe('1');
    expect(consoleEnv.TRACKMATE_CONSOLE_SECRET).toBe(envOf(collector).TRACKMATE_CONSOLE_SECRET);
  });

  it('gives the workers and the console health checks of their own (the image checks /ready)', () => {
    expect(services.worker!.healthcheck?.disable).toBe(true);
    expect(services.console!.healthcheck?.test?.join(' ')).toContain('127.0.0.1:3000');
  });
});

describe('Dockerfile', () => {
  it('builds in one stage and runs from another, both on the official node image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toMatch(/^node:/);
  });

  it('runs as an unprivileged user, with production dependencies only, and checks /ready', () => {
    const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)$/);
    const runs = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args));
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runtime.instructions.find((i) => i.op === 'HEALTHCHECK')?.args).toMatch(/\/ready/);
    expect(runtime.instructions.some((i) => i.op === 'COPY' && !i.args.includes('--from='))).toBe(false);
  });

  it('holds what every compose command runs', () => {
    // the build stage gathers each running package's published files into .runtime/, copied whole
    const gather = stages[0]!.instructions.find((i) => i.op === 'RUN' && i.args.includes('gather-runtime'))!.args;
    const packageDirs = gather.split(/\s+/).filter((w) => w.startsWith('packages/'));
    expect(runtime.instructions.filter((i) => i.op === 'COPY').map((i) => i.args)).toEqual([
      '--from=build /app/.runtime ./',
    ]);
    const cmd = JSON.parse(runtime.instructions.find((i) => i.op === 'CMD')!.args) as string[];
    for (const file of [cmd[1]!, ...ourServices.map(([, s]) => s.command![1]!)]) {
      const dir = packageDirs.find((d) => file.startsWith(`${d}/`));
      expect(dir, file).toBeDefined();
      const { files = [] } = JSON.parse(readFileSync(join(ROOT, dir!, 'package.json'), 'utf8')) as { files?: string[] };
      const inside = file.slice(dir!.length + 1);
      expect(
        files.some((f) => inside === f || inside.startsWith(`${f.replace(/\/$/, '')}/`)),
        `${file} is in ${dir}'s files`,
      ).toBe(true);
    }
    // the collector's schema dependency runs too
    expect(packageDirs).toContain('packages/schema');
  });
});
