// 3c. Sustained load: the collector as `npm start` runs it (API + workers in one process) under a fixed offered
// rate. Short probes find the highest rate at which stored per second keeps pace with acknowledged per second;
// then one long run at that rate prints offered, acknowledged, stored, the backlog at the end and p99 latency.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import {
  benchEnv,
  createSite,
  dropDatabase,
  dropRedisPrefix,
  fmt,
  sampleMax,
  sleep,
  startCollector,
  table,
} from './lib.mjs';
import { clientEvent } from './pipeline.mjs';

const BATCH = 50;

const percentile = (xs, p) => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * Offers `rate` events/s for `seconds` as evenly paced requests of BATCH events, each sent on its own (an open
 * model: a slow answer does not slow the offered load). Returns what was acknowledged and refused, latencies.
 */
async function offer(url, writeKey, rate, seconds, firstIndex) {
  const requestsPerSec = rate / BATCH;
  const total = Math.round(requestsPerSec * seconds);
  const latencies = [];
  let acknowledged = 0;
  let refused = 0;
  let failed = 0;
  const inFlight = new Set();
  const t0 = performance.now();
  for (let r = 0; r < total; r++) {
    const due = t0 + (r * 1000) / requestsPerSec;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const now = new Date().toISOString();
    const batch = Array.from({ length: BATCH }, (_, i) => clientEvent(firstIndex + r * BATCH + i, now));
    const started = performance.now();
    const p = fetch(`${url}/api/track/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ writeKey, sentAt: now, batch }),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        latencies.push(performance.now() - started);
        if (res.status === 202) acknowledged += BATCH;
        else refused += BATCH;
      })
      .catch(() => {
        failed += BATCH;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return {
    offered: total * BATCH,
    acknowledged,
    refused,
    failed,
    seconds: (performance.now() - t0) / 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function run(rate, seconds) {
  const env = benchEnv();
  const site = await createSite(env);
  const collector = await startCollector(env, { worker: true });
  const rss = sampleMax(collector.rss);
  const client = new MongoClient(env.MONGODB_URI);
  const events = client.db().collection('events');
  const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('ingest', { connection, prefix: env.TRACKMATE_QUEUE_PREFIX });
  const backlogNow = async () => {
    const c = await queue.getJobCounts('waiting', 'active', 'prioritized');
    return c.waiting + c.active + c.prioritized;
  };
  try {
    const out = await offer(collector.url, site.writeKey, rate, seconds, 0);
    // when the offered load stops: the collector's own count of stored events, and the jobs still in Redis
    const [storedAtEnd, jobsLeft] = await Promise.all([storedSoFar(collector.url), backlogNow()]);
    const drainStart = performance.now();
    while ((await backlogNow()) > 0 && performance.now() - drainStart < 120_000) await sleep(50);
    const drainMs = performance.now() - drainStart;
    const stored = await events.countDocuments();
    return {
      rate,
      ...out,
      storedDuringRun: storedAtEnd,
      stored,
      jobsLeft,
      drainMs,
      storedPerSec: storedAtEnd / out.seconds,
      acknowledgedPerSec: out.acknowledged / out.seconds,
      rssMax: rss.stop(),
    };
  } finally {
    rss.stop();
    await collector.stop();
    await queue.close();
    connection.disconnect();
    await client.close();
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
    await dropDatabase(env.MONGODB_URI);
  }
}

/** trackmate_events_stored_total of the collector's in-process workers (cheaper than counting documents). */
async function storedSoFar(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^trackmate_events_stored_total (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Kept pace: nothing refused, stored/s within 5 % of acknowledged/s, and under a second of load left queued. */
const keptPace = (r) =>
  r.refused === 0 && r.failed === 0 && r.storedPerSec >= 0.95 * r.acknowledgedPerSec && r.drainMs < 1_000;

export async function benchSustained({
  seconds = 60,
  probeSeconds = 8,
  rates = [2_000, 3_000, 4_000, 5_000, 6_000, 7_000],
} = {}) {
  const probes = [];
  for (const rate of rates) {
    const r = await run(rate, probeSeconds);
    probes.push(r);
    if (!keptPace(r)) break;
  }
  const sustainable = [...probes].reverse().find(keptPace) ?? probes[0];
  const long = await run(sustainable.rate, seconds);
  table(
    `3c. Sustained load: ${BATCH}-event requests at a fixed offered rate against API + workers in one process (probes of ${probeSeconds} s, then ${seconds} s at the highest rate that kept pace)`,
    [
      'offered events/s',
      'acknowledged/s',
      'stored/s during the run',
      'refused (503)',
      'backlog at end',
      'drained after',
      'p99',
      'RSS max',
    ],
    [...probes, long].map((r, i) => [
      `${fmt.n(r.rate)}${i === probes.length ? ` (${seconds} s)` : ` (probe${keptPace(r) ? '' : ': fell behind'})`}`,
      fmt.n(r.acknowledgedPerSec),
      fmt.n(r.storedPerSec),
      fmt.n(r.refused),
      `${fmt.n(r.jobsLeft)} jobs`,
      fmt.ms(r.drainMs),
      fmt.ms(r.p99),
      fmt.mb(r.rssMax),
    ]),
  );
  console.log(
    `   ${seconds} s at ${fmt.n(long.rate)} events/s: offered ${fmt.n(long.offered)}, acknowledged ${fmt.n(long.acknowledged)}, ` +
      `stored ${fmt.n(long.stored)} (${long.stored === long.acknowledged ? 'every acknowledged event' : 'NOT every acknowledged event'}), ` +
      `p50 ${fmt.ms(long.p50)}, p99 ${fmt.ms(long.p99)}`,
  );
  return { probes, long, sustainableRate: long.rate };
}
