// 3b. Scale-out: N events queued by the API, then drained by 1, 2 and 4 `trackmate-collector worker`
// processes (roll-ups on, as in production), beside a raw insertMany of the same documents into the same
// database. Checks exactly-once storage and the roll-ups after each run.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient, ObjectId } from 'mongodb';
import {
  benchEnv,
  CLI,
  createSite,
  dropDatabase,
  dropRedisPrefix,
  fmt,
  inParallel,
  sleep,
  startCollector,
  table,
  waitForDrain,
} from './lib.mjs';
import { clientEvent, storedDoc } from './pipeline.mjs';

const BATCH = 100;

/** Posts `total` events in batches of 100, 8 requests at a time (503s are retried). */
export async function postAll(url, writeKey, total, firstIndex = 0) {
  const now = new Date().toISOString();
  await inParallel(Math.ceil(total / BATCH), 8, async (r) => {
    const batch = [];
    for (let i = r * BATCH; i < Math.min(total, (r + 1) * BATCH); i++) batch.push(clientEvent(firstIndex + i, now));
    const body = JSON.stringify({ writeKey, sentAt: now, batch });
    for (;;) {
      const res = await fetch(`${url}/api/track/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      if (res.status === 202) return;
      await sleep(100);
    }
  });
}

/** A `trackmate-collector worker` process, resolved once its workers have started. */
async function startWorker(env, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'worker'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const started = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out = (out + d).slice(-4000);
      if (out.includes('workers started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${out}`)));
  });
  await started;
  return {
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function drainWith(count, total, nodeArgs) {
  const env = benchEnv();
  const site = await createSite(env);
  const api = await startCollector(env, { worker: false });
  const client = new MongoClient(env.MONGODB_URI);
  const db = client.db();
  const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('ingest', { connection, prefix: env.TRACKMATE_QUEUE_PREFIX });
  const workers = [];
  try {
    await postAll(api.url, site.writeKey, total);
    await api.stop();
    const jobs = await queue.count();
    await queue.pause(); // workers start without taking jobs; the clock starts when the queue resumes
    for (let i = 0; i < count; i++) workers.push(await startWorker(env, nodeArgs));
    const events = db.collection('events');
    const t0 = performance.now();
    await queue.resume();
    await waitForDrain(env);
    const ms = performance.now() - t0;
    const stored = await events.countDocuments();
    const distinct = (await events.distinct('messageId')).length;
    const rolled = async () =>
      (await db.collection('metrics_daily').find({}).toArray()).reduce((n, d) => n + d.count, 0);
    let rolledUp = await rolled();
    const rollDeadline = Date.now() + 30_000;
    while (rolledUp < stored && Date.now() < rollDeadline) {
      await sleep(100);
      rolledUp = await rolled();
    }
    return {
      workers: count,
      jobs,
      stored,
      distinct,
      rolledUp,
      ms,
      eventsPerSec: (stored / ms) * 1000,
      siteId: site.siteId,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await api.stop();
    await queue.close();
    connection.disconnect();
    await client.close();
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
    await dropDatabase(env.MONGODB_URI);
  }
}

/** The same documents, inserted by the benchmark itself with insertMany (1,000 a call, 4 calls at a time). */
async function rawInsertMany(total) {
  const env = benchEnv();
  const client = new MongoClient(env.MONGODB_URI);
  const db = client.db();
  try {
    const events = db.collection('events');
    await events.createIndex({ siteId: 1, messageId: 1 }, { unique: true });
    await events.createIndex({ siteId: 1, anonymousId: 1 });
    await events.createIndex({ siteId: 1, profileId: 1, timestamp: -1 });
    await events.createIndex({ siteId: 1, name: 1, timestamp: -1 });
    const siteId = new ObjectId();
    const now = new Date().toISOString();
    const chunk = 1_000;
    const t0 = performance.now();
    await inParallel(Math.ceil(total / chunk), 4, async (c) => {
      const docs = [];
      for (let i = c * chunk; i < Math.min(total, (c + 1) * chunk); i++)
        docs.push(storedDoc(clientEvent(i, now), siteId));
      await events.insertMany(docs, { ordered: false });
    });
    const ms = performance.now() - t0;
    return { ms, eventsPerSec: (total / ms) * 1000 };
  } finally {
    await client.close();
    await dropDatabase(env.MONGODB_URI);
  }
}

export async function benchScaleOut({ events: total = 20_000, workers = [1, 2, 4], nodeArgs = [] } = {}) {
  const baseline = await rawInsertMany(total);
  const runs = [];
  for (const count of workers) runs.push(await drainWith(count, total, nodeArgs));
  const one = runs.find((r) => r.workers === 1) ?? runs[0];
  table(
    `3b. Pipeline, workers only: ${fmt.n(total)} events queued by the API, then drained by N worker processes (roll-ups on)`,
    ['case', 'time', 'events/s', 'vs raw insertMany (target >= 70 %)', 'stored once', 'rolled up'],
    [
      [
        'raw insertMany of the same documents (baseline)',
        fmt.ms(baseline.ms),
        fmt.n(baseline.eventsPerSec),
        '',
        '',
        '',
      ],
      ...runs.map((r) => [
        `${r.workers} worker process${r.workers > 1 ? 'es' : ''} (${r.jobs} jobs)`,
        fmt.ms(r.ms),
        fmt.n(r.eventsPerSec),
        fmt.pct(r.eventsPerSec / baseline.eventsPerSec),
        r.stored === total && r.distinct === total ? 'yes' : `NO (${r.stored} stored, ${r.distinct} distinct)`,
        r.rolledUp === total ? 'exact' : `NO (${r.rolledUp})`,
      ]),
    ],
  );
  console.log(
    `   2 cores: FerretDB, Redis and the workers share them, so more processes help only while one leaves CPU idle.`,
  );
  return { baseline, runs, ratio: one.eventsPerSec / baseline.eventsPerSec };
}
