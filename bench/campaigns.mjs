#!/usr/bin/env node
// Segments and broadcasts: (1) a broadcast to N consenting profiles (10,000 by default) with default settings,
// sent by `trackmate-collector start` (API and worker in one process) through a local SMTP sink: e-mails a minute
// and the process's peak RSS, beside nodemailer's pooled transport sending the same number of messages to the same
// sink (the ceiling on this machine) and listmonk's defaults (700–1,000 a minute, as its users report); the full
// evaluation of the segment over the N profiles is timed on the way. (2) The live member count of a segment of
// 1 million members (`GET /api/segments/:id`), p50/p95, from generated state: the member set written directly
// into a redis-server of the bench's own (about 100 MB, kept off the shared Redis; no profile is stored).
//   node bench/campaigns.mjs [--profiles 10000] [--members 1000000] [--queries 40] [--parts broadcast,count] [--quick]
// Needs `npx turbo run build` and the services.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  benchEnv,
  dropDatabase,
  dropRedisPrefix,
  fmt,
  freePort,
  rssOf,
  sampleMax,
  sleep,
  startCollector,
  table,
} from './lib.mjs';

const dist = new URL('../packages/collector/dist/', import.meta.url);
const { loadConfig } = await import(new URL('config.js', dist));
const { openMongo } = await import(new URL('plugins/mongo.js', dist));
const { migrate } = await import(new URL('models/index.js', dist));
const { createSite } = await import(new URL('sites/index.js', dist));
const { buildApp } = await import(new URL('app.js', dist));
const { membersKey } = await import(new URL('segments/membership.js', dist));
const { SMTPServer } = await import('smtp-server');
const nodemailer = (await import('nodemailer')).default;
const { Redis } = await import('ioredis');
const { Types } = await import('mongoose');

const LISTMONK_PER_MINUTE = '700–1,000';
const TARGET_PER_MINUTE = 10_000;

/** An SMTP server on localhost that counts what it accepts (and keeps nothing). */
async function smtpSink() {
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        count++;
        callback();
      });
    },
  });
  server.on('error', () => {});
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `smtp://127.0.0.1:${server.server.address().port}`,
    count: () => count,
    reset: () => {
      count = 0;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

async function waitUntil(check, budgetMs, everyMs = 100) {
  const deadline = Date.now() + budgetMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

const api = (url, key) => async (method, path, body) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
};

async function broadcast({ profiles }) {
  const env = benchEnv();
  const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'silent' });
  const conns = await openMongo(config);
  const sink = await smtpSink();
  let collector;
  try {
    await migrate(conns.models);
    const site = await createSite(conns.models, { name: 'bench', origins: [] });
    const now = new Date();
    const siteId = new Types.ObjectId(site.siteId);
    for (let i = 0; i < profiles; i += 1_000) {
      await conns.models.Profile.collection.insertMany(
        Array.from({ length: Math.min(1_000, profiles - i) }, (_, k) => ({
          siteId,
          email: `person-${i + k}@bench.test`,
          firstName: `P${i + k}`,
          consent: { email: true, updatedAt: now, source: 'api' },
          consentHistory: [{ email: true, at: now, source: 'api' }],
          createdAt: now,
          updatedAt: now,
        })),
        { ordered: false },
      );
    }
    collector = await startCollector({ ...env, SMTP_URL: sink.url, LOG_LEVEL: 'warn' });
    const call = api(collector.url, site.secretKey);
    const evaluated = performance.now();
    const segment = await call('POST', '/api/segments', {
      name: 'Consenting',
      definition: { match: 'all', rules: [{ type: 'profile', field: 'consent', op: 'eq', value: true }] },
    });
    const counted = await waitUntil(
      async () => (await call('GET', `/api/segments/${segment.id}`)).count === profiles,
      600_000,
      250,
    );
    if (!counted) throw new Error('the segment did not count every profile within 10 minutes');
    const evaluationMs = performance.now() - evaluated;
    const campaign = await call('POST', '/api/campaigns', {
      name: 'Bench sale',
      segmentId: segment.id,
      subject: 'Hello {{profile.firstName}}',
      body: 'Hi {{profile.firstName}},\n\n20 % off this week: https://shop.test/sale\n\nThe shop',
    });
    const rss = sampleMax(() => rssOf(collector.child.pid));
    const started = performance.now();
    await call('POST', `/api/campaigns/${campaign.id}/send`, {});
    // at most 10 minutes: a slower broadcast reports the rate it reached (the e-mails column says how many)
    const done = await waitUntil(() => sink.count() >= profiles, 600_000, 50);
    const sendMs = performance.now() - started;
    const sent = done ? profiles : sink.count(); // read now: the ceiling below counts on the same sink
    const peakRss = rss.stop();
    const progress = (await call('GET', `/api/campaigns/${campaign.id}`)).progress;
    await collector.stop();
    collector = null;

    // the ceiling: nodemailer's pooled transport (eight connections, as the worker's) to the same sink
    sink.reset();
    const transport = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections: 8 });
    const rawStarted = performance.now();
    const queue = Array.from({ length: profiles }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = queue.pop(); i !== undefined; i = queue.pop()) {
          await transport.sendMail({
            from: 'bench@bench.test',
            to: `person-${i}@bench.test`,
            subject: `Hello P${i}`,
            text: 'Hi,\n\n20 % off this week: https://shop.test/sale\n\nThe shop',
          });
        }
      }),
    );
    const rawMs = performance.now() - rawStarted;
    transport.close();

    const perMinute = (n, ms) => Math.round((n / ms) * 60_000);
    table(
      `Broadcast to ${fmt.n(profiles)} consenting profiles, default settings (ratePerSecond 200), local SMTP sink`,
      ['', 'e-mails', 'time', 'e-mails a minute', 'peak RSS'],
      [
        [
          'TrackMate (start: API + worker)',
          fmt.n(sent),
          `${(sendMs / 1000).toFixed(1)} s`,
          fmt.n(perMinute(sent, sendMs)),
          fmt.mb(peakRss),
        ],
        [
          'nodemailer pool, 8 connections (ceiling)',
          fmt.n(profiles),
          `${(rawMs / 1000).toFixed(1)} s`,
          fmt.n(perMinute(profiles, rawMs)),
          '—',
        ],
        ['listmonk defaults (reported)', '—', '—', LISTMONK_PER_MINUTE, '—'],
        ['target', '—', '—', `>= ${fmt.n(TARGET_PER_MINUTE)}`, '—'],
      ],
    );
    console.log(
      `  full evaluation of the segment over ${fmt.n(profiles)} profiles (saved → counted): ${(evaluationMs / 1000).toFixed(1)} s; ` +
        `progress at the end: ${JSON.stringify(progress)}`,
    );
    return {
      profiles,
      sent,
      sendMs: Math.round(sendMs),
      perMinute: perMinute(sent, sendMs),
      peakRssBytes: peakRss,
      ceilingPerMinute: perMinute(profiles, rawMs),
      evaluationMs: Math.round(evaluationMs),
      progress,
    };
  } finally {
    await collector?.stop();
    await sink.close();
    await conns.close();
    await dropDatabase(env.MONGODB_URI);
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
  }
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function count({ members, queries }) {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await sleep(500);
  const redisUrl = `redis://127.0.0.1:${port}`;
  const env = benchEnv({ REDIS_URL: redisUrl });
  const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'silent' });
  const app = await buildApp(config, { worker: false, logger: false });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${app.server.address().port}`;
    const site = await createSite(app.models, { name: 'bench', origins: [] });
    const call = api(url, site.secretKey);
    const segment = await call('POST', '/api/segments', {
      name: 'Everyone consenting',
      definition: { match: 'all', rules: [{ type: 'profile', field: 'consent', op: 'eq', value: true }] },
    });
    // the member set as the worker keeps it (profile ids, scored 0), written directly: no profile is stored
    const redis = new Redis(redisUrl);
    const key = membersKey(config.queuePrefix, segment.id);
    const genStarted = performance.now();
    const base = BigInt(`0x${segment.id}`);
    for (let i = 0; i < members; i += 10_000) {
      const args = [];
      for (let k = i; k < Math.min(members, i + 10_000); k++) {
        args.push(0, (base + BigInt(k + 1)).toString(16).padStart(24, '0'));
      }
      await redis.zadd(key, ...args);
    }
    const genMs = performance.now() - genStarted;
    const memory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    await redis.quit();
    const time = async (path, check) => {
      for (let w = 0; w < 2; w++) await call('GET', path);
      const ms = [];
      for (let q = 0; q < queries; q++) {
        const t = performance.now();
        const body = await call('GET', path);
        ms.push(performance.now() - t);
        if (!check(body)) throw new Error(`${path} answered ${JSON.stringify(body).slice(0, 200)}`);
      }
      return ms;
    };
    const countMs = await time(`/api/segments/${segment.id}`, (b) => b.count === members);
    table(
      `Segment of ${fmt.n(members)} members (generated in ${(genMs / 1000).toFixed(1)} s, Redis ${fmt.mb(memory)}), ${queries} calls each`,
      ['route', 'p50', 'p95', 'target'],
      [
        [
          'GET /api/segments/:id (live count)',
          `${percentile(countMs, 50).toFixed(1)} ms`,
          `${percentile(countMs, 95).toFixed(1)} ms`,
          '<= 200 ms',
        ],
      ],
    );
    return {
      members,
      redisBytes: memory,
      countP50Ms: percentile(countMs, 50),
      countP95Ms: percentile(countMs, 95),
    };
  } finally {
    await app.close();
    await dropDatabase(env.MONGODB_URI);
    server.kill('SIGTERM');
  }
}

export async function benchCampaigns({
  profiles = 10_000,
  members = 1_000_000,
  queries = 40,
  parts = ['broadcast', 'count'],
} = {}) {
  const out = {};
  if (parts.includes('broadcast')) out.broadcast = await broadcast({ profiles });
  if (parts.includes('count')) out.count = await count({ members, queries });
  return out;
}

if (resolve(fileURLToPath(import.meta.url)) === resolve(process.argv[1] ?? '')) {
  const { values } = parseArgs({
    options: {
      profiles: { type: 'string' },
      members: { type: 'string' },
      queries: { type: 'string' },
      parts: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const quick = values.quick ?? false;
  await benchCampaigns({
    profiles: Number(values.profiles ?? (quick ? 2_000 : 10_000)),
    members: Number(values.members ?? (quick ? 100_000 : 1_000_000)),
    queries: Number(values.queries ?? (quick ? 10 : 40)),
    parts: (values.parts ?? 'broadcast,count').split(','),
  });
  process.exit(0);
}
