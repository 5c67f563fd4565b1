import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, isolatedEnv, removeTestData } from './helpers/harness.js';

const run = promisify(execFile);
const env = isolatedEnv();
const cli = (args: string[], extra: Record<string, string> = {}) =>
  run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, ...extra } });

afterAll(() => removeTestData(env));

describe('trackmate-collector CLI', () => {
  it('sites create prints the keys once and stores only the secret key’s hash', async () => {
    const { stdout } = await cli([
      'sites',
      'create',
      '--name',
      'Shop',
      '--origin',
      'https://Shop.Example/',
      '--origin',
      'http://localhost:3000',
      '--json',
    ]);
    const site = JSON.parse(stdout);
    expect(site.writeKey).toMatch(/^pk_/);
    expect(site.secretKey).toMatch(/^sk_/);
    expect(site.allowedOrigins).toEqual(['https://shop.example', 'http://localhost:3000']);
    const client = new MongoClient(env.MONGODB_URI!);
    try {
      const doc = await client.db().collection('sites').findOne({ writeKey: site.writeKey });
      expect(doc?.name).toBe('Shop');
      expect(JSON.stringify(doc)).not.toContain(site.secretKey);
      expect(doc?.secretKeyHash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await client.close();
    }
    const human = await cli(['sites', 'create', '--name', 'Blog', '--origin', 'https://blog.example']);
    expect(human.stdout).toMatch(/writeKey: +pk_/);
    expect(human.stdout).toMatch(/shown once/);
  });

  it('sites list, update origins, rotate keys and revoke them', async () => {
    const created = JSON.parse(
      (await cli(['sites', 'create', '--name', 'Rotating', '--origin', 'https://a.example', '--json'])).stdout,
    );
    const listed = (await cli(['sites', 'list', '--json'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const mine = listed.find((s) => s.siteId === created.siteId);
    expect(mine).toMatchObject({ name: 'Rotating', writeKey: created.writeKey, allowedOrigins: ['https://a.example'] });
    expect(JSON.stringify(listed)).not.toContain(created.secretKey);

    const id = ['--id', created.siteId];
    const updated = JSON.parse(
      (
        await cli([
          'sites',
          'update',
          ...id,
          '--add-origin',
          'https://B.example/',
          '--remove-origin',
          'https://a.example',
          '--json',
        ])
      ).stdout,
    );
    expect(updated.allowedOrigins).toEqual(['https://b.example']);

    const rotated = JSON.parse((await cli(['sites', 'rotate-key', ...id, '--secret', '--json'])).stdout);
    expect(rotated.secretKey).toMatch(/^sk_/);
    expect(rotated.writeKey).toBeUndefined();
    const client = new MongoClient(env.MONGODB_URI!);
    try {
      const { createHash } = await import('node:crypto');
      const doc = await client.db().collection('sites').findOne({ writeKey: created.writeKey });
      expect(doc?.secretKeyHash).toBe(createHash('sha256').update(rotated.secretKey).digest('hex'));
      expect((await cli(['sites', 'revoke', ...id])).stdout).toMatch(/revoked/);
      const revoked = await client.db().collection('sites').findOne({ name: 'Rotating' });
      expect(revoked?.writeKey).not.toBe(created.writeKey);
      expect(revoked?.secretKeyHash).not.toBe(doc?.secretKeyHash);
      expect(revoked?.allowedOrigins).toEqual([]);
    } finally {
      await client.close();
    }
    await expect(cli(['sites', 'rotate-key', ...id])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--write, --secret/),
    });
    await expect(cli(['sites', 'update', '--id', 'nope', '--name', 'x'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/not a site id/),
    });
  }, 120_000);

  it('migrate creates the collections and their unique indexes', async () => {
    const { stdout } = await cli(['migrate']);
    expect(stdout).toMatch(/migrated/);
    const client = new MongoClient(env.MONGODB_URI!);
    try {
      const names = (await client.db().listCollections().toArray()).map((c) => c.name);
      expect(names).toEqual(expect.arrayContaining(['sites', 'profiles', 'events', 'dead_letters']));
      const indexes = await client.db().collection('events').indexes();
      expect(indexes.find((i) => i.key.siteId === 1 && i.key.messageId === 1)?.unique).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('stops with one clear line for bad configuration or bad input', async () => {
    await expect(cli(['start'], { TRACKMATE_IP_MODE: 'sometimes' })).rejects.toMatchObject({
      code: 1,
      stderr: 'trackmate-collector: TRACKMATE_IP_MODE must be full, anonymize or none, got "sometimes"\n',
    });
    await expect(cli(['sites', 'create', '--name', 'X', '--origin', 'not-a-url'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--origin "not-a-url" is not an http\(s\) origin/),
    });
    await expect(cli(['frobnicate'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/unknown command "frobnicate"/),
    });
  });

  it('--help lists every command', async () => {
    const { stdout } = await cli(['--help']);
    for (const command of ['start', 'worker', 'sites create', 'migrate']) expect(stdout).toContain(command);
  });
});
