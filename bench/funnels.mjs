#!/usr/bin/env node
// Saved funnels: (1) the ingest worker's events/s with no saved funnel and with one (same pre-queued jobs, A/B in
// one run, enrichment on in both, as in production); (2) GET /api/stats/funnel?funnel= answer times over 90 days
// of a site with 5 million events, from the funnel's state.
//   node bench/funnels.mjs [--events 5000000] [--jobs 20] [--batch 500] [--queries 40] [--parts worker,query] [--quick]
// Needs `npx turbo run build` and the services. The query part starts its own redis-server (the state of 90 days
// of a big site takes a few hundred MB, kept off the shared Redis) and stops it at the end.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, dropDatabase, fmt, freePort, sleep, table } from './lib.mjs';
import { rng, workerRound } from './worker-round.mjs';

const dist = new URL('../packages/collector/dist/', import.meta.url);
const { loadConfig } = await import(new URL('config.js', dist));
const { createSite } = await import(new URL('sites/index.js', dist));
const { createFunnelHook, funnelBase } = await import(new URL('funnels/index.js', dist));
const { writeDays } = await import(new URL('funnels/funnel-state.js', dist));
const { buildApp } = await import(new URL('app.js', dist));
const { Redis } = await import('ioredis');

const STEPS = [
  { event: 'page_view', path: '/pricing' },
  { event: 'add_to_cart' },
  { event: 'checkout_started' },
  { event: 'order_submitted' },
];
const CHANNELS = ['Direct', 'Organic Search', 'Organic Social', 'Referral', 'Email', 'Paid Search'];
const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'JP', 'BR'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/** Browser events of 2,000 visitors walking a shop: pages, the pricing page, carts, checkouts (some go all the way). */
function shopEvents(siteId, jobs, batch) {
  const r = rng(11);
  const now = Date.now();
  return Array.from({ length: jobs }, (_, j) =>
    Array.from({ length: batch }, (_, i) => {
      const visitor = `v-${Math.floor(r() * 2000)}`;
      const ts = new Date(now - 3_600_000 + (j * batch + i) * 10).toISOString();
      const x = r();
      const [name, properties] =
        x < 0.5
          ? ['page_view', { url: `https://shop.test/p/${Math.floor(r() * 100)}`, referrer: '', title: 'Product' }]
          : x < 0.7
            ? ['page_view', { url: 'https://shop.test/pricing', referrer: '', title: 'Pricing' }]
            : x < 0.85
              ? ['add_to_cart', { productId: 'mug', quantity: 1, price: 20 }]
              : x < 0.95
                ? ['checkout_started', { items: 1 }]
                : ['order_submitted', { total: 20 }];
      return {
        siteId,
        messageId: randomUUID(),
        name,
        timestamp: ts,
        receivedAt: ts,
        anonymousId: visitor,
        sessionId: `s-${visitor}`,
        profileId: null,
        properties,
        context: { page: { url: properties.url ?? 'https://shop.test/', title: 'Shop' } },
        source: 'client',
        userAgent: UA,
        ip: '81.2.69.0',
        geo: { country: COUNTRIES[Math.floor(r() * COUNTRIES.length)], region: null },
      };
    }),
  );
}

/** The saved funnel of both benches: 4 steps, 14 days, in order. */
const saveFunnel = (models, siteId) =>
  models.Funnel.create({
    siteId,
    name: 'bench',
    steps: STEPS,
    window: '14d',
    order: 'sequential',
    status: 'ready',
    createdAt: new Date(),
  });

async function worker({ jobs, batch, pairs = 3 }) {
  // The ingest worker as `trackmate-collector worker` runs it (worker-round.mjs, enrichment on, as in
  // production), draining the same pre-queued jobs with no saved funnel and with one, alternating, each round on
  // a fresh database and queue prefix.
  const rounds = [];
  let concurrency = 1;
  for (let k = 0; k < pairs * 2; k++) {
    const withFunnel = k % 2 === 1;
    // the funnel step's own time, summed over jobs (beside the A/B figures, which a loaded machine blurs)
    let stepMs = 0;
    const round = await workerRound({
      jobsOf: (siteId) => shopEvents(siteId, jobs, batch),
      prepare: async ({ config, models, redis, site }) => {
        const saved = withFunnel ? await saveFunnel(models, site.siteId) : undefined;
        const funnelStep = createFunnelHook({ models, redis, prefix: config.queuePrefix });
        const funnels = async (...args) => {
          const t = performance.now();
          try {
            return await funnelStep(...args);
          } finally {
            stepMs += performance.now() - t;
          }
        };
        return { saved, funnels };
      },
      // people with a state in the funnel (numbered in its bitmaps), and the bytes of their states
      inspect: async ({ config, redis, site, prepared: { saved } }) => {
        if (!saved) return { people: 0, stateBytes: 0, states: 0 };
        const base = funnelBase(config.queuePrefix, site.siteId, saved._id.toHexString());
        let stateBytes = 0;
        let states = 0;
        for await (const keys of redis.scanStream({ match: `${base}:s:*`, count: 1000 }))
          for (const key of keys) {
            stateBytes += await redis.strlen(key);
            states++;
          }
        return { people: await redis.hlen(`${base}:pid`), stateBytes, states };
      },
    });
    concurrency = round.concurrency;
    const { seconds } = round;
    const { people, stateBytes, states } = round.inspected;
    console.log(
      `   ${withFunnel ? 'one saved funnel' : 'no saved funnel'}: ${fmt.n(jobs * batch)} events in ${seconds.toFixed(2)} s${withFunnel ? `, ${fmt.n(people)} people in the funnel (states ${fmt.n(Math.round(stateBytes / Math.max(states, 1)))} bytes each); the funnel step took ${fmt.n(Math.round(stepMs / jobs))} ms a job` : ''}`,
    );
    rounds.push({
      withFunnel,
      events: jobs * batch,
      seconds,
      perSecond: Math.round((jobs * batch) / seconds),
      stepMsPerJob: withFunnel ? stepMs / jobs : undefined,
    });
  }
  const median = (f) => {
    const xs = rounds
      .filter((x) => x.withFunnel === f)
      .map((x) => x.perSecond)
      .sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  };
  const without = median(false);
  const withOne = median(true);
  const cost = Math.round((1 - withOne / without) * 1000) / 10;
  // the step's time a job over the time a job takes with the funnel (events a job / events/s × job slots)
  const stepMs = rounds
    .filter((x) => x.withFunnel)
    .map((x) => x.stepMsPerJob)
    .sort((a, b) => a - b)[Math.floor(pairs / 2)];
  const jobMs = (batch / withOne) * 1000 * concurrency;
  const stepShare = ((stepMs / jobMs) * 100).toFixed(1);
  table(
    `1. Ingest worker with no saved funnel and with one (${fmt.n(jobs * batch)} browser events a round in ${batch}-event jobs, enrichment on, ${rounds.length} rounds A/B, medians; baseline with funnel_people in MongoDB: 462 → 83 events/s, 80 %)`,
    ['variant', 'events/s', 'cost'],
    [
      ['no saved funnel', fmt.n(without), '—'],
      ['one saved funnel (4 steps)', fmt.n(withOne), `${cost} % (target <= 5 %)`],
      [
        '  of which the funnel step (run beside the MongoDB steps)',
        `${stepMs.toFixed(0)} ms a job`,
        `${stepShare} % of job time`,
      ],
    ],
  );
  return { rounds, without, withOne, cost, stepMsPerJob: stepMs, stepShare: Number(stepShare) };
}

async function query({ events, queries }) {
  // 90 days of a site with `events` events, as the worker leaves a saved funnel's state: visits of ~16-event
  // visitors (events / 16 of them, Zipf-like returns), half of the visits see the pricing page and each later step
  // follows with probability 1/2; each person-day's outcome is written by the collector's own writeDays (the
  // bitmaps and time counts the worker writes). the people's states are not read by the query and are not generated.
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
    const site = await createSite(app.models, { name: 'bench', origins: [] });
    const funnel = await saveFunnel(app.models, site.siteId);
    const base = funnelBase(config.queuePrefix, site.siteId, funnel._id.toHexString());
    const redis = new Redis(redisUrl);
    const r = rng(42);
    const DAYS = 90;
    const visitors = Math.round(events / 16);
    const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const genStarted = performance.now();
    let personDays = 0;
    for (let d = DAYS; d >= 1; d--) {
      const day = new Date(today - d * 86_400_000).toISOString().slice(0, 10);
      const visits = Math.round(events / DAYS / 5);
      const seen = new Set();
      let pipeline = redis.pipeline();
      for (let v = 0; v < visits; v++) {
        const pid = 1 + Math.floor(r() ** 1.5 * visitors);
        if (r() >= 0.5 || seen.has(pid)) continue;
        seen.add(pid);
        let reached = 1;
        while (reached < STEPS.length && r() < 0.5) reached++;
        const gaps = Array.from({ length: reached - 1 }, () => Math.floor(30 + r() * r() * 7200));
        const by = {
          channel: { [CHANNELS[Math.floor(r() * CHANNELS.length)]]: reached },
          country: { [COUNTRIES[Math.floor(r() * COUNTRIES.length)]]: reached },
          device: { [DEVICES[Math.floor(r() * DEVICES.length)]]: reached },
        };
        const outcome = { reached, gaps, by };
        if (reached === STEPS.length) outcome.convert = gaps.reduce((a, b) => a + b, 0);
        writeDays(pipeline, base, pid, STEPS.length, {}, { [day]: outcome });
        personDays++;
        if (personDays % 5_000 === 0) {
          await pipeline.exec();
          pipeline = redis.pipeline();
        }
      }
      await pipeline.exec();
    }
    const genSeconds = (performance.now() - genStarted) / 1000;
    const memory = /used_memory_human:(\S+)/.exec(await redis.info('memory'))?.[1];
    console.log(
      `   state of ${fmt.n(personDays)} person-days (${fmt.n(visitors)} visitors, ${fmt.n(events)} events) written in ${genSeconds.toFixed(1)} s; Redis holds ${memory}`,
    );
    const from = new Date(today - DAYS * 86_400_000).toISOString().slice(0, 10);
    const to = new Date(today - 86_400_000).toISOString().slice(0, 10);
    const rows = [];
    const out = {};
    for (const [label, extra] of [
      ['90 days', ''],
      ['90 days, breakdown by channel', '&breakdown=channel'],
      ['90 days, breakdown by country', '&breakdown=country'],
      ['7 days', '7d'],
    ]) {
      const range =
        extra === '7d'
          ? `from=${new Date(today - 7 * 86_400_000).toISOString().slice(0, 10)}&to=${to}`
          : `from=${from}&to=${to}`;
      const times = [];
      let body;
      for (let q = 0; q < queries; q++) {
        const t0 = performance.now();
        const res = await app.inject({
          method: 'GET',
          url: `/api/stats/funnel?funnel=${funnel._id.toHexString()}&${range}${extra === '7d' ? '' : extra}`,
          headers: { authorization: `Bearer ${site.secretKey}` },
        });
        times.push(performance.now() - t0);
        if (res.statusCode !== 200) throw new Error(`funnel query: ${res.statusCode} ${res.body}`);
        body = res.json();
      }
      const first = times[0];
      times.sort((a, b) => a - b);
      const p50 = times[Math.floor(times.length / 2)];
      const p95 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)];
      rows.push([
        label,
        body.steps.map((s) => fmt.n(s.visitors)).join(' → '),
        first.toFixed(1),
        p50.toFixed(1),
        p95.toFixed(1),
      ]);
      out[label] = { first, p50, p95, steps: body.steps.map((s) => s.visitors) };
    }
    table(
      `2. GET /api/stats/funnel?funnel= over a saved funnel's state (${fmt.n(events)} events over 90 days, ${queries} queries each; target p95 <= 100 ms; the first query of a range makes its week bitmaps; baseline before them: p50 84, p95 178 ms)`,
      ['query', 'people per step', 'first ms', 'p50 ms', 'p95 ms'],
      rows,
    );
    redis.disconnect();
    return { personDays, genSeconds, memory, queries: out };
  } finally {
    await app.close();
    await dropDatabase(env.MONGODB_URI);
    server.kill('SIGTERM');
  }
}

export async function benchFunnels({
  events = 5_000_000,
  jobs = 20,
  batch = 500,
  queries = 40,
  parts = ['worker', 'query'],
} = {}) {
  const out = {};
  if (parts.includes('worker')) out.worker = await worker({ jobs, batch });
  if (parts.includes('query')) out.query = await query({ events, queries });
  return out;
}

if (fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      jobs: { type: 'string' },
      batch: { type: 'string' },
      queries: { type: 'string' },
      parts: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const quick = values.quick ?? false;
  await benchFunnels({
    events: Number(values.events ?? (quick ? 200_000 : 5_000_000)),
    jobs: Number(values.jobs ?? (quick ? 8 : 20)),
    batch: Number(values.batch ?? 500),
    queries: Number(values.queries ?? (quick ? 10 : 40)),
    parts: (values.parts ?? 'worker,query').split(','),
  });
  process.exit(0);
}
