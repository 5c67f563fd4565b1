#!/usr/bin/env node
// Events per second through the ingest worker, with and without the after-insert hooks (roll-ups into
// metrics_daily + one active campaign trigger + its entries), against the real Redis and MongoDB/FerretDB.
//   node bench/worker-hooks.mjs [--jobs 100] [--batch 100] [--rounds 2]
// Needs `npx turbo run build` and the services (`eval "$(bash scripts/services.sh)"`).
// Each run gets its own database and queue prefix; the jobs are queued first, then one worker (default
// TRACKMATE_WORKER_CONCURRENCY) drains them and the time from start to the last completed job is measured.
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import pino from 'pino';

const dist = new URL('../packages/collector/dist/', import.meta.url);
const { loadConfig } = await import(new URL('config.js', dist));
const { openMongo } = await import(new URL('plugins/mongo.js', dist));
const { createQueue, closeQueue, closeWorker, QUEUE_NAMES } = await import(new URL('plugins/queues.js', dist));
const { migrate } = await import(new URL('models/index.js', dist));
const { createSite } = await import(new URL('sites/index.js', dist));
const { createIngestWorker } = await import(new URL('pipeline/index.js', dist));
const { createAfterInsertHook, siteConfigCaches } = await import(new URL('plugins/workers.js', dist));
const { Redis } = await import('ioredis');
const { startRollupFolder } = await import(new URL('rollups/index.js', dist));

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100' },
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
  },
});
const JOBS = Number(values.jobs);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const VISITORS = 500;
const NAMES = [
  'page_view',
  'page_view',
  'page_view',
  'page_view',
  'button_click',
  'deep_scroll',
  'add_to_cart',
  'page_view',
  'button_click',
  'page_view',
];

function event(siteId, i) {
  const name = NAMES[i % NAMES.length];
  const now = new Date().toISOString();
  const props = {
    page_view: { url: 'https://shop.test/p', referrer: '', title: 'P' },
    button_click: { elementId: 'buy', text: 'Buy' },
    deep_scroll: { percentage: 75 },
    add_to_cart: { productId: `sku-${i % 50}`, quantity: 1, price: 9.5 },
  }[name];
  return {
    siteId,
    messageId: randomUUID(),
    name,
    timestamp: now,
    receivedAt: now,
    anonymousId: `v-${Math.floor(Math.random() * VISITORS)}`,
    sessionId: 's-1',
    profileId: null,
    properties: props,
    source: 'client',
    userAgent: 'bench',
    ip: '127.0.0.1',
  };
}

async function run(withHooks) {
  const id = randomBytes(4).toString('hex');
  const base = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/trackmate');
  base.pathname = `/tm_bench_${id}`;
  const config = loadConfig({
    ...process.env,
    MONGODB_URI: base.toString(),
    TRACKMATE_QUEUE_PREFIX: `tmbench_${id}`,
    LOG_LEVEL: 'silent',
  });
  const conns = await openMongo(config);
  await migrate(conns.models);
  const site = await createSite(conns.models, { name: 'bench', origins: [] });
  const jobQueues = {
    triggers: createQueue(config, QUEUE_NAMES.triggers),
    webhooks: createQueue(config, QUEUE_NAMES.webhooks),
  };
  if (withHooks) {
    const now = new Date();
    await conns.models.Trigger.create({
      siteId: site.siteId,
      name: 'Abandoned cart',
      active: true,
      entryEvent: 'add_to_cart',
      filters: [{ property: 'price', op: 'gt', value: 0 }],
      delaySeconds: 3600,
      exitEvents: ['order_placed'],
      reentryHours: 0,
      action: { type: 'email', subject: 'Your cart', body: 'Hi {{profile.firstName}}' },
      createdAt: now,
      updatedAt: now,
    });
  }
  const ingest = createQueue(config, QUEUE_NAMES.ingest);
  const redis = new Redis(config.redisUrl);
  let n = 0;
  for (let j = 0; j < JOBS; j++) {
    await ingest.add('events', { events: Array.from({ length: BATCH }, () => event(site.siteId, n++)) });
  }
  const log = pino({ level: 'silent' });
  const started = performance.now();
  const folder = withHooks ? startRollupFolder(config, conns.models, log) : null;
  const worker = createIngestWorker({
    config,
    models: conns.models,
    log,
    hooks: withHooks
      ? [createAfterInsertHook(jobQueues, folder, siteConfigCaches(conns.models, redis, config.queuePrefix))]
      : [],
  });
  let done = 0;
  await new Promise((resolve) => {
    worker.on('completed', () => {
      if (++done === JOBS) resolve();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await closeWorker(worker);
  const stored = await conns.models.Event.countDocuments({});
  let rolled = null;
  let foldedAfter = null;
  if (withHooks) {
    // the folder adds the recorded contributions to metrics_daily a little later
    const sum = async () => (await conns.models.MetricsDaily.find({}).lean()).reduce((s, d) => s + d.count, 0);
    rolled = await sum();
    while (rolled < stored && performance.now() - started < 120_000) {
      await new Promise((r) => setTimeout(r, 50));
      rolled = await sum();
    }
    foldedAfter = (performance.now() - started) / 1000;
    await folder.stop();
  }
  const entries = withHooks ? await conns.models.TriggerEntry.countDocuments({}) : null;
  await ingest.obliterate({ force: true });
  await jobQueues.triggers.obliterate({ force: true });
  await closeQueue(ingest);
  redis.disconnect();
  await Promise.all(Object.values(jobQueues).map(closeQueue));
  const client = new MongoClient(base.toString());
  await client.db().dropDatabase();
  await client.close();
  await conns.close();
  return { withHooks, events: n, stored, rolled, foldedAfter, entries, seconds, perSecond: Math.round(n / seconds) };
}

const results = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const withHooks of [false, true]) {
    const res = await run(withHooks);
    results.push(res);
    console.log(
      `${withHooks ? 'roll-ups + 1 trigger' : 'no hooks            '}  ${res.events} events in ${res.seconds.toFixed(2)} s = ${res.perSecond} events/s` +
        (withHooks
          ? `  (stored ${res.stored}, rolled up ${res.rolled} after ${res.foldedAfter.toFixed(2)} s, trigger entries ${res.entries})`
          : `  (stored ${res.stored})`),
    );
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const plain = median(results.filter((r) => !r.withHooks).map((r) => r.perSecond));
const hooked = median(results.filter((r) => r.withHooks).map((r) => r.perSecond));
console.log(
  `median: without hooks ${plain} events/s, with roll-ups + 1 trigger ${hooked} events/s (${Math.round((hooked / plain) * 100)} %)`,
);
