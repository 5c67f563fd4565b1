#!/usr/bin/env node
// `npm run bench`: the benchmarks of bench/README.md, each beside its baseline measured in the same run.
// Prints tables and writes bench/results/latest.json. Never fails on speed.
//   node bench/run.mjs [--only sizes,http,pipeline,saleday,scaleout,sustained,profile,browser,person,analytics,funnels,campaigns] [--duration 5]
//                      [--events 20000] [--history 1000000] [--backlog 500000] [--saleday-shape browsers|singles]
//                      [--sustained 60] [--quick]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchAnalytics } from './analytics.mjs';
import { benchBrowser } from './browser.mjs';
import { benchCampaigns } from './campaigns.mjs';
import { benchFunnels } from './funnels.mjs';
import { benchHttp } from './http.mjs';
import { fmt, ROOT } from './lib.mjs';
import { benchPerson } from './person.mjs';
import { benchPipeline } from './pipeline.mjs';
import { analyzeProfiles, printProfile } from './profile.mjs';
import { benchSaleDay } from './sale-day.mjs';
import { benchScaleOut } from './scale-out.mjs';
import { benchSizes } from './sizes.mjs';
import { benchSustained } from './sustained.mjs';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    duration: { type: 'string' },
    events: { type: 'string' },
    sustained: { type: 'string' },
    quick: { type: 'boolean' },
    history: { type: 'string' },
    backlog: { type: 'string' },
    'saleday-shape': { type: 'string' },
  },
});
const only = new Set(
  (
    values.only ?? 'sizes,http,pipeline,saleday,scaleout,sustained,profile,browser,person,analytics,funnels,campaigns'
  ).split(','),
);
const quick = values.quick ?? false;
const duration = Number(values.duration ?? (quick ? 2 : 5));
const events = Number(values.events ?? (quick ? 5_000 : 20_000));
const sustained = Number(values.sustained ?? (quick ? 15 : 60));
const resultsDir = join(ROOT, 'bench/results');
mkdirSync(resultsDir, { recursive: true });

const started = Date.now();
const results = {
  startedAt: new Date().toISOString(),
  machine: {
    cpus: availableParallelism(),
    memoryMb: Math.round(totalmem() / 1048576),
    loadavg: loadavg(),
    node: process.version,
  },
  services: { mongodb: process.env.MONGODB_URI, redis: process.env.REDIS_URL },
};
console.log(
  `TrackMate benchmarks — ${results.machine.cpus} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (other work on the machine makes every figure noisy; baselines run in the same conditions)`,
);

async function step(name, fn) {
  if (!only.has(name)) return;
  try {
    results[name] = await fn();
  } catch (err) {
    console.log(`\n${name}: failed: ${err?.stack ?? err}`);
    results[name] = { error: String(err?.message ?? err) };
  }
}

await step('sizes', () => benchSizes());
await step('http', () => benchHttp({ duration, connections: quick ? [10, 50] : [10, 50, 100] }));
await step('pipeline', () => benchPipeline({ events }));
await step('saleday', () =>
  benchSaleDay({
    history: Number(values.history ?? (quick ? 50_000 : 1_000_000)),
    backlog: Number(values.backlog ?? (quick ? 20_000 : 500_000)),
    shape: values['saleday-shape'] ?? 'browsers',
  }),
);
await step('person', () => benchPerson({ visitors: quick ? 20_000 : 200_000 }));
await step('scaleout', () => benchScaleOut({ events }));
await step('sustained', () => benchSustained({ seconds: sustained, probeSeconds: quick ? 4 : 8 }));
await step('profile', async () => {
  // Where the collector's CPU goes under single-event load, then under 100-event batches (node --cpu-prof)
  const profileOf = async (name, options, title) => {
    const dir = join(resultsDir, 'profile', name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const run = await benchHttp({ duration: Math.max(duration, 5), profile: dir, ...options });
    const a = analyzeProfiles(dir, { skipMs: run.collectorReadyMs + 500 });
    printProfile(title, a, 15);
    const rows = options.singleOnly ? run.single : run.batch100;
    console.log(
      `   while profiled: ${fmt.n(rows[0]?.okPerSec)} req/s, ${fmt.n(rows[0]?.cpuUsPerRequest)} µs CPU a request`,
    );
    return {
      requestsPerSec: rows[0]?.okPerSec,
      totalMs: a.total,
      byPackage: a.byPackage.slice(0, 25),
      byFunction: a.byFunction.slice(0, 40),
    };
  };
  rmSync(join(resultsDir, 'profile'), { recursive: true, force: true });
  const single = await profileOf(
    'single',
    { connections: [50], singleOnly: true },
    '5. CPU profile of the collector (single-event POSTs, 50 connections, start-up left out)',
  );
  const batch = await profileOf(
    'batch',
    { connections: [10], batchOnly: true },
    '5b. CPU profile of the collector (100-event batches, 10 connections, start-up left out)',
  );
  return { ...single, batch };
});
await step('browser', () => benchBrowser({ loads: quick ? 5 : 12, events: quick ? 200 : 500 }));
await step('analytics', () =>
  benchAnalytics(quick ? { events: 200_000, jobs: 10, queries: 10 } : { events: 5_000_000, jobs: 40, queries: 40 }),
);
await step('funnels', () =>
  benchFunnels(quick ? { events: 200_000, jobs: 8, queries: 10 } : { events: 5_000_000, jobs: 20, queries: 40 }),
);

await step('campaigns', () =>
  benchCampaigns(
    quick ? { profiles: 2_000, members: 100_000, queries: 10 } : { profiles: 10_000, members: 1_000_000, queries: 40 },
  ),
);

results.finishedAt = new Date().toISOString();
results.seconds = Math.round((Date.now() - started) / 1000);
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote bench/results/latest.json (${fmt.n(results.seconds)} s)`);
