#!/usr/bin/env node
// Analytics: (1) the ingest worker's events/s with and without enrichment (source, device, bot, visit; the
// place is looked up at ingest), same events, same run; (2) /api/stats answer times over 90 days of a site with
// 5 million events; (3) the collector's resident memory with the country database loaded and without it; (4) a live
// site's stats while its visits are open (their events counted from Redis, and from the stored events).
//   node bench/analytics.mjs [--events 5000000] [--pages 1000] [--jobs 40] [--batch 500] [--queries 40]
//                            [--parts worker,stats,memory,live] [--quick] [--keep FILE | --reuse FILE]
// --keep leaves the stats part's generated site in place (database and Redis keys, named in FILE); --reuse FILE
// times the queries on it again without generating it (same day only: the data is dated from the day it was
// made). Drop it afterwards with scripts or by hand (the file names the database and the key prefix).
// Needs `npx turbo run build` and the services. Each part gets its own database and queue prefix.
// TRACKMATE_BENCH_DB_PID=<pid of the database server on this machine> adds its CPU per round to part 1.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, dropDatabase, dropRedisPrefix, fmt, sleep, startCollector, table } from './lib.mjs';
import { rng, workerRound } from './worker-round.mjs';

const dist = new URL('../packages/collector/dist/', import.meta.url);
const { loadConfig } = await import(new URL('config.js', dist));
const { openMongo } = await import(new URL('plugins/mongo.js', dist));
const { migrate } = await import(new URL('models/index.js', dist));
const { createSite } = await import(new URL('sites/index.js', dist));
const { addCounts, rowsOfVisit, summarizeVisit, zero } = await import(new URL('analytics/visit-summary.js', dist));
const { addToSketches } = await import(new URL('analytics/visit-closer.js', dist));
const { addToBlocks, confirmBlocks } = await import(new URL('analytics/stats-blocks.js', dist));
const { columnsKey, makeColumns, recordsKey, recordsSinceKey, writeVisitRecords } = await import(
  new URL('analytics/visit-records.js', dist)
);
const { Types } = await import('mongoose');
const { buildApp } = await import(new URL('app.js', dist));
const { Redis } = await import('ioredis');

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
];
const REFERRERS = [
  '',
  '',
  '',
  'https://www.google.com/',
  'https://t.co/x',
  'https://duckduckgo.com/',
  'https://blog.example.org/p',
  'https://mail.google.com/',
];
const LANDING = [
  '',
  '',
  '',
  '',
  '?utm_source=newsletter&utm_medium=email&utm_campaign=spring',
  '?gclid=G1',
  '?utm_source=facebook&utm_medium=paid_social',
];
const COUNTRIES = [
  { country: 'US', region: null },
  { country: 'DE', region: null },
  { country: 'GB', region: null },
  { country: 'FR', region: null },
  { country: 'JP', region: null },
  { country: 'BR', region: null },
];

/** Page i of `pages`, Zipf-like: a few pages take most views, as on a shop. */
const pageOf = (r, pages) => `/p/${Math.floor(pages ** r()) - 1}`;

/** Client events as @trackmate/browser sends them (page in the context), 70 % page views, 2,000 visitors. */
function sdkEvents(siteId, jobs, batch) {
  const r = rng(7);
  const now = Date.now();
  return Array.from({ length: jobs }, (_, j) =>
    Array.from({ length: batch }, (_, i) => {
      const visitor = `v-${Math.floor(r() * 2000)}`;
      const ts = new Date(now - 3_600_000 + (j * batch + i) * 10).toISOString();
      const url = `https://shop.test${pageOf(r, 1000)}${LANDING[Math.floor(r() * LANDING.length)]}`;
      const view = r() < 0.7;
      return {
        siteId,
        messageId: randomUUID(),
        name: view ? 'page_view' : 'button_click',
        timestamp: ts,
        receivedAt: ts,
        anonymousId: visitor,
        sessionId: `s-${visitor}`,
        profileId: null,
        properties: view
          ? { url, referrer: REFERRERS[Math.floor(r() * REFERRERS.length)], title: 'Product' }
          : { elementId: 'buy', text: 'Add to cart' },
        context: {
          page: { url: url.replace(/[?#].*/, ''), title: 'Product' },
          library: { name: '@trackmate/browser', version: '0.2.0' },
        },
        source: 'client',
        userAgent: AGENTS[Math.floor(r() * (AGENTS.length - 1))],
        ip: '81.2.69.0',
        geo: COUNTRIES[Math.floor(r() * COUNTRIES.length)],
      };
    }),
  );
}

/**
 * CPU time (ms) the database server has used so far, when TRACKMATE_BENCH_DB_PID names its process on this machine
 * (a FerretDB of the bench's own): what enrichment costs the database is most of its cost to the drain.
 */
function dbCpuMs() {
  const pid = process.env.TRACKMATE_BENCH_DB_PID;
  if (!pid) return null;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
}

/** CPU time (ms) the Redis server has used so far (its INFO; other clients of the same server count too). */
async function redisCpuMs(redis) {
  const info = await redis.info('cpu');
  const used = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (used('used_cpu_sys') + used('used_cpu_user')) * 1000;
}

async function worker({ jobs, batch, rounds: pairs = 3 }) {
  // The ingest worker as `trackmate-collector worker` runs it (worker-round.mjs), draining the same pre-queued
  // jobs with and without the enrich hook, alternating A/B, each round on a fresh database and queue prefix.
  const rounds = [];
  for (let k = 0; k < pairs * 2; k++) {
    const withEnrich = k % 2 === 1;
    let db0 = null;
    let dbMs = null;
    let redis0 = 0;
    let redisMs = 0;
    const round = await workerRound({
      jobsOf: (siteId) => sdkEvents(siteId, jobs, batch),
      // enrichment and the open visits' records the worker keeps with it
      prepare: async ({ redis }) => {
        db0 = dbCpuMs();
        redis0 = await redisCpuMs(redis);
        return { enrichment: withEnrich };
      },
      inspect: async ({ models, redis }) => {
        if (db0 !== null) dbMs = dbCpuMs() - db0; // before the count, which scans the events
        redisMs = (await redisCpuMs(redis)) - redis0;
        return models.Event.countDocuments({});
      },
    });
    const { seconds, inspected: stored } = round;
    if (stored !== jobs * batch) throw new Error(`worker round: ${stored} events stored of ${jobs * batch}`);
    const cpuMsPerK = round.cpuMs / ((jobs * batch) / 1000);
    const dbMsPerK = dbMs === null ? null : dbMs / ((jobs * batch) / 1000);
    const redisMsPerK = redisMs / ((jobs * batch) / 1000);
    console.log(
      `   ${withEnrich ? 'with' : 'without'} enrichment: ${fmt.n(jobs * batch)} events in ${seconds.toFixed(2)} s, worker CPU ${cpuMsPerK.toFixed(0)} ms per 1,000 events${dbMsPerK === null ? '' : `, database CPU ${dbMsPerK.toFixed(0)} ms`}, Redis CPU ${redisMsPerK.toFixed(0)} ms (load ${loadavg()[0].toFixed(1)})`,
    );
    rounds.push({
      withEnrich,
      events: jobs * batch,
      seconds,
      perSecond: Math.round((jobs * batch) / seconds),
      cpuMsPerK,
      dbMsPerK,
      redisMsPerK,
    });
  }
  const median = (w, key) => {
    const xs = rounds
      .filter((x) => x.withEnrich === w)
      .map((x) => x[key])
      .sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  };
  const plain = median(false, 'perSecond');
  const enriched = median(true, 'perSecond');
  const plainCpu = median(false, 'cpuMsPerK');
  const enrichedCpu = median(true, 'cpuMsPerK');
  const plainDb = median(false, 'dbMsPerK');
  const enrichedDb = median(true, 'dbMsPerK');
  const db = (x) => (x === null ? 'TRACKMATE_BENCH_DB_PID unset' : x.toFixed(0));
  table(
    `1. Ingest worker with and without enrichment (${fmt.n(jobs * batch)} browser events a round in ${batch}-event jobs, ${rounds.length} rounds A/B, medians; CPU per 1,000 events of each process, none counted in another's)`,
    ['variant', 'events/s', 'vs without', 'worker CPU ms', 'database CPU ms', 'Redis CPU ms'],
    [
      [
        'without enrichment',
        fmt.n(plain),
        '100 %',
        plainCpu.toFixed(0),
        db(plainDb),
        median(false, 'redisMsPerK').toFixed(0),
      ],
      [
        'with enrichment (source, device, bot, visit)',
        fmt.n(enriched),
        `${Math.round((enriched / plain) * 100)} % (target >= 90 %)`,
        enrichedCpu.toFixed(0),
        db(enrichedDb),
        median(true, 'redisMsPerK').toFixed(0),
      ],
    ],
  );
  return { rounds, plain, enriched, cost: Math.round((1 - enriched / plain) * 1000) / 10 };
}

async function live({ jobs, batch, queries }) {
  // A live site: its visits still open. Each stats query also counts the open visits, from the records of their
  // events the worker keeps in Redis; without them (the fallback, and how it was done before) from the visits'
  // stored events, with a `visitId $in` that FerretDB answers by scanning every stored event.
  let out;
  await workerRound({
    jobsOf: (siteId) => sdkEvents(siteId, jobs, batch),
    prepare: async () => ({ enrichment: true }),
    inspect: async ({ config, models, redis, site }) => {
      const app = await buildApp(config, { worker: false, logger: false });
      try {
        const day = new Date().toISOString().slice(0, 10);
        const url = `/api/stats/aggregate?from=${day}&to=${day}`;
        const time = async () => {
          const times = [];
          let body;
          for (let i = 0; i < queries + 1; i++) {
            const t0 = performance.now();
            const res = await app.inject({
              method: 'GET',
              url,
              headers: { authorization: `Bearer ${site.secretKey}` },
            });
            if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
            if (i) times.push(performance.now() - t0);
            body = res.json();
          }
          times.sort((a, b) => a - b);
          return { p50: times[Math.floor(times.length / 2)], p95: times[Math.ceil(times.length * 0.95) - 1], body };
        };
        const open = await redis.zcard(`${config.queuePrefix}:open-visits:${site.siteId}`);
        const stored = await models.Event.countDocuments({});
        const withRecords = await time();
        const keys = [];
        for await (const batch of redis.scanStream({ match: `${config.queuePrefix}:visitev:*`, count: 1000 }))
          keys.push(...batch);
        const dump = await Promise.all(keys.map((k) => redis.hgetall(k)));
        await redis.unlink(...keys);
        const fromEvents = await time();
        for (const [i, k] of keys.entries()) await redis.hset(k, dump[i]);
        const same = JSON.stringify(withRecords.body) === JSON.stringify(fromEvents.body);
        if (!same) throw new Error('live figures differ between the records and the stored events');
        console.log(
          `   ${fmt.n(open)} open visits, ${fmt.n(stored)} stored events: from the records p50 ${withRecords.p50.toFixed(1)} ms, p95 ${withRecords.p95.toFixed(1)} ms; from the stored events p50 ${fromEvents.p50.toFixed(1)} ms, p95 ${fromEvents.p95.toFixed(1)} ms (same figures)`,
        );
        out = {
          open,
          stored,
          withRecords: { p50: withRecords.p50, p95: withRecords.p95 },
          fromEvents: { p50: fromEvents.p50, p95: fromEvents.p95 },
        };
      } finally {
        await app.close();
      }
    },
  });
  table(
    `4. A live site: today's aggregate while ${fmt.n(out.open)} visits are open (${fmt.n(out.stored)} events stored, ${queries} calls)`,
    ['open visits counted from', 'p50', 'p95'],
    [
      ['their records in Redis', `${out.withRecords.p50.toFixed(1)} ms`, `${out.withRecords.p95.toFixed(1)} ms`],
      ['their stored events (before)', `${out.fromEvents.p50.toFixed(1)} ms`, `${out.fromEvents.p95.toFixed(1)} ms`],
    ],
  );
  return out;
}

async function stats({ events, pages, queries, keep, reuse }) {
  // 90 days of a site's traffic as the visit closer leaves it: each synthetic visit is summarised and split
  // into roll-up rows by the collector's own functions (summarizeVisit, rowsOfVisit), the rows summed per
  // (day, dimension, value) and written to the stats blocks by the closer's own addToBlocks (each day's rows
  // as one pseudo-visit), each visitor added to the rows' HyperLogLogs. The last 7 days' visits are stored
  // too, with their records in Redis (as the closer writes them), for the filtered queries.
  // `keep` (a file) leaves the data in place and says in the file where it is; `reuse` (that file) runs the
  // queries on it again without generating anything.
  const saved = reuse ? JSON.parse(readFileSync(reuse, 'utf8')) : null;
  const env = saved?.env ?? benchEnv();
  const config = loadConfig({ ...process.env, ...env, LOG_LEVEL: 'silent' });
  const conns = await openMongo(config);
  const redis = new Redis(config.redisUrl);
  const DAYS = 90;
  const today = saved?.today ?? Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
  const { site, data } = saved ?? (await generate());
  async function generate() {
    await migrate(conns.models);
    const site = await createSite(conns.models, { name: 'bench', origins: [] });
    const r = rng(42);
    const visitors = Math.round(events / 16);
    const genStarted = performance.now();
    let made = 0;
    let visitsMade = 0;
    let rowDocs = 0;
    const distinctPages = new Set();
    const storedVisits = [];
    const blockRows = [];
    for (let d = DAYS; d >= 1; d--) {
      const dayStart = today - d * 86_400_000;
      const day = new Date(dayStart).toISOString().slice(0, 10);
      const rows = new Map();
      const dayVisits = [];
      const target = Math.round(events / DAYS);
      let dayEvents = 0;
      while (dayEvents < target) {
        const visitor = `v-${Math.floor(r() ** 1.5 * visitors)}`;
        const n = 1 + Math.floor(r() * r() * 12);
        const start = dayStart + Math.floor(r() * 86_000_000);
        const evs = [];
        for (let i = 0; i < n; i++) {
          const page = pageOf(r, pages);
          distinctPages.add(page);
          evs.push({
            name: i && r() < 0.3 ? 'button_click' : 'page_view',
            timestamp: new Date(start + i * 20_000),
            properties: { url: `https://shop.test${page}` },
            sentBy: 'client',
          });
        }
        if (r() < 0.03)
          evs.push({
            name: 'order_placed',
            timestamp: new Date(start + n * 20_000),
            properties: { orderTotal: 40, currency: r() < 0.5 ? 'EUR' : 'USD' },
            sentBy: 'server',
          });
        const referrer = REFERRERS[Math.floor(r() * REFERRERS.length)];
        const geo = COUNTRIES[Math.floor(r() * COUNTRIES.length)];
        const dims = {
          channel: ['Direct', 'Organic Search', 'Organic Social', 'Referral', 'Email', 'Paid Search'][
            Math.floor(r() * 6)
          ],
          referrer: referrer ? new URL(referrer).hostname : null,
          utmSource: r() < 0.2 ? 'newsletter' : null,
          utmMedium: null,
          utmCampaign: r() < 0.1 ? 'spring' : null,
          utmTerm: null,
          utmContent: null,
          country: geo.country,
          region: null,
          browser: ['Chrome', 'Mobile Safari', 'Firefox', 'Edge'][Math.floor(r() * 4)],
          os: ['Windows', 'iOS', 'Mac OS', 'Android'][Math.floor(r() * 4)],
          device: ['desktop', 'mobile', 'tablet'][Math.floor(r() * 3)],
          bot: false,
        };
        const summary = summarizeVisit(evs);
        for (const row of rowsOfVisit(dims, summary)) {
          const key = `${row.dim}\u0000${row.value}`;
          let b = rows.get(key);
          if (!b) {
            b = { dim: row.dim, value: row.value, counts: zero(), visitors: new Set() };
            rows.set(key, b);
          }
          addCounts(b.counts, row.counts);
          b.visitors.add(visitor);
        }
        const visit = {
          _id: `${site.siteId}:${visitor}:${start}`,
          siteId: new Types.ObjectId(site.siteId),
          visitor,
          day,
          start: new Date(start),
          end: new Date(start + n * 20_000),
          touchedAt: new Date(),
          dims,
          closed: true,
          summary,
        };
        if (d <= 7) storedVisits.push(visit);
        dayVisits.push(visit);
        dayEvents += evs.length;
        visitsMade++;
      }
      made += dayEvents;
      for (const b of rows.values())
        blockRows.push({
          siteId: site.siteId,
          day,
          dim: b.dim,
          value: b.value,
          byVisit: new Map([[`bench:${day}`, b.counts]]),
        });
      rowDocs += rows.size;
      const p = redis.pipeline();
      for (const b of rows.values())
        addToSketches(p, config.queuePrefix, { siteId: site.siteId, day, dim: b.dim, value: b.value }, [...b.visitors]);
      await p.exec();
      // every day's visits to its records, as the closer writes them
      for (let i = 0; i < dayVisits.length; i += 2000)
        await writeVisitRecords(
          redis,
          config.queuePrefix,
          dayVisits.slice(i, i + 2000).map((v) => ({ ...v, id: v._id, siteId: site.siteId })),
        );
      // and its columns, as the closer makes them once the day is over
      await makeColumns(redis, config.queuePrefix, site.siteId, [day]);
    }
    const blocks = await addToBlocks(conns.models, redis, config.queuePrefix, blockRows);
    await confirmBlocks(conns.models, blocks, [...new Set(blockRows.flatMap((r) => [...r.byVisit.keys()]))]);
    for (let i = 0; i < storedVisits.length; i += 2000)
      await conns.models.Visit.insertMany(storedVisits.slice(i, i + 2000), { lean: true });
    // records kept since before the first generated day
    await redis.set(recordsSinceKey(config.queuePrefix), today - DAYS * 86_400_000);
    const genSeconds = (performance.now() - genStarted) / 1000;
    console.log(
      `   generated ${fmt.n(made)} events' roll-ups (${fmt.n(rowDocs)} rows in ${fmt.n(blocks.length)} blocks) in ${genSeconds.toFixed(0)} s`,
    );
    const lastDay = new Date(today - 86_400_000).toISOString().slice(0, 10);
    const data = {
      made,
      visitsMade,
      visitors,
      pages: distinctPages.size,
      rows: rowDocs,
      blocks: blocks.length,
      stored: storedVisits.length,
      lastDayVisits: storedVisits.filter((v) => v.day === lastDay).length,
      genSeconds,
    };
    if (keep)
      writeFileSync(
        keep,
        JSON.stringify({ env, today, site: { siteId: site.siteId, secretKey: site.secretKey }, data }),
      );
    return { site, data };
  }

  const app = await buildApp(config, { worker: false, logger: false });
  const from = new Date(today - DAYS * 86_400_000).toISOString().slice(0, 10);
  const to = new Date(today - 86_400_000).toISOString().slice(0, 10);
  const week = new Date(today - 7 * 86_400_000).toISOString().slice(0, 10);
  const cases = [
    ['aggregate, 90 days, compare=previous', `/api/stats/aggregate?from=${from}&to=${to}&compare=previous`],
    ['timeseries, 90 days', `/api/stats/timeseries?from=${from}&to=${to}`],
    ['breakdown channel, 90 days', `/api/stats/breakdown?from=${from}&to=${to}&dimension=channel`],
    ['breakdown country, 90 days', `/api/stats/breakdown?from=${from}&to=${to}&dimension=country`],
    ['breakdown page (top 10), 90 days', `/api/stats/breakdown?from=${from}&to=${to}&dimension=page`],
    ['breakdown entry page, 90 days', `/api/stats/breakdown?from=${from}&to=${to}&dimension=entryPage`],
    ['breakdown referrer, 90 days', `/api/stats/breakdown?from=${from}&to=${to}&dimension=referrer`],
    ['breakdown browser, 90 days', `/api/stats/breakdown?from=${from}&to=${to}&dimension=browser`],
    ['breakdown device, 90 days', `/api/stats/breakdown?from=${from}&to=${to}&dimension=device`],
    [
      'breakdown page, 2nd page of 100, 90 days',
      `/api/stats/breakdown?from=${from}&to=${to}&dimension=page&limit=100&page=2`,
    ],
    ['realtime', '/api/stats/realtime'],
    [
      'aggregate, 7 days, filtered channel==Email',
      `/api/stats/aggregate?from=${week}&to=${to}&filters=channel%3D%3DEmail`,
    ],
    ['timeseries, 7 days, filtered country==DE', `/api/stats/timeseries?from=${week}&to=${to}&filters=country%3D%3DDE`],
    [
      'breakdown country, 7 days, filtered page',
      `/api/stats/breakdown?from=${week}&to=${to}&dimension=country&filters=page%3D%3D%2Fp%2F0`,
    ],
    [
      'breakdown page, 7 days, filtered channel!=Direct and country==DE',
      `/api/stats/breakdown?from=${week}&to=${to}&dimension=page&filters=${encodeURIComponent('channel!=Direct;country==DE')}`,
    ],
    [
      'aggregate, 90 days, filtered channel!=Direct',
      `/api/stats/aggregate?from=${from}&to=${to}&filters=${encodeURIComponent('channel!=Direct')}`,
    ],
    ['timeseries, 90 days, filtered page', `/api/stats/timeseries?from=${from}&to=${to}&filters=page%3D%3D%2Fp%2F0`],
    [
      'breakdown country, 90 days, filtered page',
      `/api/stats/breakdown?from=${from}&to=${to}&dimension=country&filters=page%3D%3D%2Fp%2F0`,
    ],
    [
      'breakdown entry page, 90 days, filtered country==DE',
      `/api/stats/breakdown?from=${from}&to=${to}&dimension=entryPage&filters=country%3D%3DDE`,
    ],
    [
      'breakdown page, 90 days, filtered channel!=Direct and country==DE',
      `/api/stats/breakdown?from=${from}&to=${to}&dimension=page&filters=${encodeURIComponent('channel!=Direct;country==DE')}`,
    ],
  ];
  const out = [];
  for (const [name, url] of cases) {
    const times = [];
    let first;
    const began = performance.now();
    // `queries` calls after two warm-up calls, or fewer (at least one) once a case has taken 20 s, so a slow query
    // cannot hold the run for long
    for (let i = 0; i < queries + 2 && (!times.length || performance.now() - began < 20_000); i++) {
      const t0 = performance.now();
      const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${site.secretKey}` } });
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      first ??= performance.now() - t0;
      if (i >= 2 || performance.now() - began >= 20_000) times.push(performance.now() - t0); // warm-up calls left out
      if (i === 0 && url.includes('filters=') && url.includes('breakdown') && !res.json().rows.length)
        throw new Error(`${url}: no rows (the bench's visits must match the filter)`);
    }
    times.sort((a, b) => a - b);
    out.push({
      name,
      calls: times.length,
      p50: times[Math.floor(times.length * 0.5)],
      p95: times[Math.ceil(times.length * 0.95) - 1],
      first,
      load: loadavg()[0],
    });
    console.log(
      `   ${name}: p50 ${out.at(-1).p50.toFixed(1)} ms, p95 ${out.at(-1).p95.toFixed(1)} ms (${times.length} calls; first call ${first.toFixed(0)} ms; load ${loadavg()[0].toFixed(1)})`,
    );
  }
  // cold: the blocks' copies in Redis dropped, so each query reads its blocks from MongoDB (once each)
  const cold = [];
  for (const [name, url] of [cases[0], cases[1], cases[4]]) {
    const copies = await redis.keys(`${config.queuePrefix}:sb:*`);
    if (copies.length) await redis.unlink(...copies);
    const t0 = performance.now();
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${site.secretKey}` } });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    cold.push({ name, ms: performance.now() - t0 });
    console.log(`   cold (blocks read from MongoDB) ${name}: ${cold.at(-1).ms.toFixed(1)} ms`);
  }
  // Redis memory of one day's records and columns (the last day, after the queries made its columns)
  const lastDay = new Date(today - 86_400_000).toISOString().slice(0, 10);
  const { made, visitsMade, visitors, rows: rowDocs, stored, lastDayVisits, genSeconds } = data;
  const recordBytes = Number(
    await redis.call('MEMORY', 'USAGE', recordsKey(config.queuePrefix, site.siteId, lastDay), 'SAMPLES', '0'),
  );
  const columnBytes = Number(
    await redis.call('MEMORY', 'USAGE', columnsKey(config.queuePrefix, site.siteId, lastDay), 'SAMPLES', '0'),
  );
  console.log(
    `   Redis memory of one day's visits (${fmt.n(lastDayVisits)}): records ${(recordBytes / 1048576).toFixed(1)} MB, columns ${(columnBytes / 1048576).toFixed(1)} MB`,
  );
  // after an upgrade: the 7 days' visits were closed before records were kept, so the first filtered query
  // reads them from the visits collection (a scan on FerretDB) and records them; the next reads the records
  await redis.unlink(
    ...Array.from({ length: 7 }, (_, k) =>
      recordsKey(config.queuePrefix, site.siteId, new Date(today - (7 - k) * 86_400_000).toISOString().slice(0, 10)),
    ),
  );
  await redis.set(recordsSinceKey(config.queuePrefix), Date.now());
  for (const label of ['first, days read from the visits collection', 'then, from the records']) {
    const [name, url] = cases.find(([n]) => n === 'breakdown country, 7 days, filtered page');
    const t0 = performance.now();
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${site.secretKey}` } });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    cold.push({ name: `${name}, after an upgrade: ${label}`, ms: performance.now() - t0 });
    console.log(`   ${cold.at(-1).name}: ${cold.at(-1).ms.toFixed(1)} ms`);
  }
  await app.close();
  table(
    `2. Stats queries: ${fmt.n(made)} events in ${fmt.n(visitsMade)} visits of ${fmt.n(visitors)} visitors over ${DAYS} days, ${fmt.n(data.pages)} distinct pages (${fmt.n(rowDocs)} roll-up rows in ${fmt.n(data.blocks)} blocks, ${fmt.n(stored)} visits of the last 7 days stored; generated in ${genSeconds.toFixed(0)} s); ${queries} calls each through the real routes (in-process inject)`,
    ['query', 'calls', 'p50 ms', 'p95 ms', 'target p95', 'first call ms', 'load'],
    [
      ...out.map((o) => [
        o.name,
        String(o.calls),
        o.p50.toFixed(1),
        o.p95.toFixed(1),
        '<= 100 ms',
        o.first.toFixed(0),
        o.load.toFixed(1),
      ]),
      ...cold.map((o) => [
        o.name.includes('upgrade') ? o.name : `${o.name}, cold (blocks from MongoDB, not Redis)`,
        '1',
        o.ms.toFixed(1),
        o.ms.toFixed(1),
        '-',
        '',
        '',
      ]),
    ],
  );
  redis.disconnect();
  await conns.close();
  if (keep || reuse) console.log(`   data left in ${env.MONGODB_URI} and Redis keys ${env.TRACKMATE_QUEUE_PREFIX}:*`);
  else {
    await dropDatabase(env.MONGODB_URI);
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
  }
  return {
    events: made,
    visits: visitsMade,
    visitors,
    pages: data.pages,
    rows: rowDocs,
    blocks: data.blocks,
    cold,
    oneDayOfVisits: { visits: lastDayVisits, recordsMb: recordBytes / 1048576, columnsMb: columnBytes / 1048576 },
    generatedSeconds: genSeconds,
    queries: out,
  };
}

async function memory() {
  const out = {};
  for (const geo of ['on', 'off']) {
    const env = benchEnv({ TRACKMATE_GEO: geo });
    const c = await startCollector(env, { worker: false });
    await sleep(1_000);
    out[geo] = c.rss();
    await c.stop();
    await dropDatabase(env.MONGODB_URI);
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
  }
  table(
    '3. Collector resident memory at rest (API only)',
    ['TRACKMATE_GEO', 'RSS MB'],
    [
      ['on (DB-IP country database loaded)', fmt.n(Math.round(out.on / 1048576))],
      ['off', fmt.n(Math.round(out.off / 1048576))],
    ],
  );
  return { rssGeoOnMb: Math.round(out.on / 1048576), rssGeoOffMb: Math.round(out.off / 1048576) };
}

export async function benchAnalytics({
  events = 5_000_000,
  pages = 1_000,
  jobs = 40,
  batch = 500,
  queries = 40,
  parts = ['worker', 'stats', 'memory', 'live'],
  keep,
  reuse,
} = {}) {
  const out = {};
  if (parts.includes('worker')) out.worker = await worker({ jobs, batch });
  if (parts.includes('stats')) out.stats = await stats({ events, pages, queries, keep, reuse });
  if (parts.includes('memory')) out.memory = await memory();
  if (parts.includes('live')) out.live = await live({ jobs, batch, queries });
  return out;
}

if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      pages: { type: 'string' },
      jobs: { type: 'string' },
      batch: { type: 'string' },
      queries: { type: 'string' },
      parts: { type: 'string' },
      quick: { type: 'boolean' },
      keep: { type: 'string' },
      reuse: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  await benchAnalytics({
    events: Number(values.events ?? (quick ? 200_000 : 5_000_000)),
    pages: Number(values.pages ?? 1_000),
    jobs: Number(values.jobs ?? (quick ? 10 : 40)),
    batch: Number(values.batch ?? 500),
    queries: Number(values.queries ?? (quick ? 10 : 40)),
    parts: (values.parts ?? 'worker,stats,memory,live').split(','),
    keep: values.keep,
    reuse: values.reuse,
  });
  process.exit(0);
}
