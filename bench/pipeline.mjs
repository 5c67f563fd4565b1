// 3. Pipeline: N events posted to the collector (API + worker in one process) until the last is in MongoDB,
// beside a raw insertMany of the same documents into the same database (same indexes) by the benchmark itself.
import { MongoClient, ObjectId } from 'mongodb';
import {
  benchEnv,
  createSite,
  dropDatabase,
  dropRedisPrefix,
  fmt,
  inParallel,
  sampleMax,
  sleep,
  startCollector,
  table,
  waitForDrain,
} from './lib.mjs';

const BATCH = 100;
const PARALLEL = 8;

export const clientEvent = (i, now) => ({
  messageId: `pipe-${i}`,
  name: i % 10 === 0 ? 'add_to_cart' : 'page_view',
  timestamp: now,
  anonymousId: `anon-${i % 2000}`,
  sessionId: `sess-${i % 2000}`,
  properties:
    i % 10 === 0
      ? { productId: `p${i % 97}`, quantity: 1, price: 19.9 }
      : { url: `https://shop.test/p/${i % 500}`, referrer: '', title: 'Product' },
  context: { library: { name: '@trackmate/browser', version: '0.1.0' } },
});

/** The stored shape (what the ingest worker writes), for the baseline. */
export const storedDoc = (e, siteId) => ({
  siteId,
  messageId: e.messageId,
  profileId: null,
  anonymousId: e.anonymousId,
  sessionId: e.sessionId,
  name: e.name,
  timestamp: new Date(e.timestamp),
  receivedAt: new Date(),
  properties: e.properties,
  source: 'client',
  userAgent: 'bench',
  ip: '127.0.0.1',
  context: e.context,
});

export async function benchPipeline({ events: total = 20_000, budgetMs = 240_000 } = {}) {
  const env = benchEnv();
  const site = await createSite(env);
  const collector = await startCollector(env, { worker: true });
  const rss = sampleMax(collector.rss);
  const client = new MongoClient(env.MONGODB_URI);
  const db = client.db();
  const now = new Date().toISOString();
  const requests = Math.ceil(total / BATCH);
  const out = { events: total };
  try {
    // collector: post everything, then wait until the last event is stored
    const started = performance.now();
    let refused = 0;
    await inParallel(requests, PARALLEL, async (r) => {
      const batch = [];
      for (let i = r * BATCH; i < Math.min(total, (r + 1) * BATCH); i++) batch.push(clientEvent(i, now));
      const body = JSON.stringify({ writeKey: site.writeKey, sentAt: now, batch });
      for (;;) {
        const res = await fetch(`${collector.url}/api/track/event`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        if (res.status === 202) return;
        refused++;
        await sleep(100);
      }
    });
    out.postedMs = performance.now() - started;
    const events = db.collection('events');
    await waitForDrain(env, { budgetMs }); // past the budget, the rate so far is reported
    out.collectorMs = performance.now() - started;
    const stored = await events.countDocuments();
    out.stored = stored;
    out.refused = refused;
    out.collectorEventsPerSec = (stored / out.collectorMs) * 1000;
    out.collectorRssMax = rss.stop();
    await collector.stop();

    // baseline: the same documents, insertMany in chunks of 1,000, 4 at a time (the worker's concurrency)
    const baseline = db.collection('events_baseline');
    for (const ix of await events.indexes()) {
      if (ix.name === '_id_') continue;
      const { key, name, v, ns, ...options } = ix;
      await baseline.createIndex(key, { ...options, name });
    }
    const siteId = new ObjectId(site.siteId);
    const chunk = 1_000;
    const t0 = performance.now();
    await inParallel(Math.ceil(total / chunk), 4, async (c) => {
      const docs = [];
      for (let i = c * chunk; i < Math.min(total, (c + 1) * chunk); i++)
        docs.push(storedDoc(clientEvent(i, now), siteId));
      await baseline.insertMany(docs, { ordered: false });
    });
    out.baselineMs = performance.now() - t0;
    out.baselineEventsPerSec = (total / out.baselineMs) * 1000;
    out.ratio = out.collectorEventsPerSec / out.baselineEventsPerSec;
  } finally {
    rss.stop();
    await collector.stop();
    await client.close();
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
    await dropDatabase(env.MONGODB_URI);
  }
  table(
    `3. Pipeline: ${fmt.n(total)} events posted (batches of ${BATCH}, ${PARALLEL} in parallel) until the last is in MongoDB`,
    ['case', 'time', 'events/s', 'vs baseline (target >= 70 %)'],
    [
      ['raw insertMany of the same documents (baseline)', fmt.ms(out.baselineMs), fmt.n(out.baselineEventsPerSec), ''],
      [
        `collector API + worker (${out.stored < total ? `only ${fmt.n(out.stored)} stored in the time budget; ` : ''}all posted after ${fmt.ms(out.postedMs)}; RSS max ${fmt.mb(out.collectorRssMax)})`,
        fmt.ms(out.collectorMs),
        fmt.n(out.collectorEventsPerSec),
        fmt.pct(out.ratio),
      ],
    ],
  );
  return out;
}
