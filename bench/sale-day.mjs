// 3c. Sale day: a backlog sent as browsers send it, drained by a separate worker process, on an empty database
// and on one that already holds a history — so growth of the per-event cost with the data shows.
//   history: events, profiles (one per 10 events) with their profile facts, and visitor ids (one per 5 events;
//   each profile has two) inserted directly, plus an active trigger (add_to_cart) and a webhook subscription (order_product) made
//   through the API;
//   backlog: `trackmate-collector start --no-worker` takes requests of 1–10 events of one visitor each (page
//   views, clicks, add_to_cart; 2 % identify — half of them people of the history —, 1 % order_product), 32
//   at a time, from visitors new and returning;
//   drain: the queue paused, one `trackmate-collector worker` process started, the clock started on resume;
//   progress counted from the worker's completed jobs (their `inserted`/`duplicates`/`failed`), never by
//   counting MongoDB (a scan on FerretDB), and printed per 50,000 events (per 10 % of a smaller backlog);
//   --saleday-shape singles: one event a request instead, of anonymous visitors (no identify, no order), from 50
//   connections, as a load-test tool sends them;
//   baseline: insertMany of as many documents of the stored shape into a collection with the same indexes in
//   the same database, 1,000 a call, 4 at a time.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
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

const RESULTS = new URL('results/', import.meta.url).pathname;
mkdirSync(RESULTS, { recursive: true });

const say = (msg) => console.log(`   [sale day] ${new Date().toISOString().slice(11, 19)} ${msg}`);

const PAGE_NAMES = ['page_view', 'page_view', 'page_view', 'button_click', 'page_view', 'add_to_cart', 'deep_scroll'];

/** A small deterministic PRNG, so both cases send the same traffic. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const props = (name, i) =>
  ({
    page_view: {
      url: `https://shop.test/p/${i % 800}?utm_source=sale`,
      referrer: 'https://www.google.com/',
      title: 'Sale',
    },
    button_click: { elementId: 'buy', text: 'Buy now' },
    deep_scroll: { percentage: 50 },
    add_to_cart: { productId: `sku-${i % 300}`, quantity: 1, price: 19.9 },
  })[name];

const historyEmail = (i) => `customer-${i}@shop.test`;

/** The history, inserted directly: what months of traffic left behind. */
async function storeHistory(db, siteId, history) {
  if (!history) return { ms: 0 };
  const t0 = performance.now();
  const profiles = Math.max(1, Math.floor(history / 10));
  const visitors = profiles * 2;
  const site = new ObjectId(siteId);
  const profileIds = Array.from({ length: profiles }, () => new ObjectId());
  const day = 86_400_000;
  const start = Date.now() - 90 * day;
  await inParallel(Math.ceil(profiles / 1000), 2, async (c) => {
    const docs = [];
    for (let i = c * 1000; i < Math.min(profiles, (c + 1) * 1000); i++) {
      const at = new Date(start + (i % 90) * day);
      docs.push({
        _id: profileIds[i],
        siteId: site,
        email: historyEmail(i),
        emailKey: `${siteId}|${historyEmail(i)}`,
        consent: { email: i % 3 === 0 },
        consentHistory: [],
        anonymousIds: [`h-${2 * i}`, `h-${2 * i + 1}`],
        createdAt: at,
        updatedAt: at,
      });
    }
    await db.collection('profiles').insertMany(docs, { ordered: false });
    // what the worker kept for each of them (segments' profile facts): their visitor ids' events are counted
    await db.collection('profile_facts').insertMany(
      docs.map((p) => ({
        _id: p._id,
        siteId: site,
        firstSeen: p.createdAt,
        lastSeen: p.createdAt,
        firstTouch: null,
        country: null,
        counts: { page_view: 10 },
        days: {},
        orders: 0,
        revenue: {},
        lastOrderAt: null,
        visitors: p.anonymousIds,
        jobs: [],
        updatedAt: p.createdAt,
      })),
      { ordered: false },
    );
  });
  await inParallel(Math.ceil(visitors / 1000), 2, async (c) => {
    const docs = [];
    for (let v = c * 1000; v < Math.min(visitors, (c + 1) * 1000); v++) {
      docs.push({
        _id: `${siteId}:h-${v}`,
        siteId: site,
        anonymousId: `h-${v}`,
        profileId: profileIds[v >> 1],
        linkedAt: new Date(start),
      });
    }
    await db.collection('identities').insertMany(docs, { ordered: false });
  });
  await inParallel(Math.ceil(history / 1000), 4, async (c) => {
    const docs = [];
    for (let i = c * 1000; i < Math.min(history, (c + 1) * 1000); i++) {
      const v = (i * 7919) % visitors;
      const name = PAGE_NAMES[i % PAGE_NAMES.length];
      const at = new Date(start + Math.floor((i / history) * 89 * day));
      docs.push({
        siteId: site,
        messageId: `hist-${i}`,
        profileId: v % 4 === 0 ? null : profileIds[v >> 1],
        anonymousId: `h-${v}`,
        sessionId: `hs-${v}-${Math.floor(i / 50)}`,
        name,
        timestamp: at,
        receivedAt: at,
        properties: props(name, i),
        sentBy: 'client',
        userAgent: 'Mozilla/5.0 (bench)',
        ip: '127.0.0.1',
      });
    }
    await db.collection('events').insertMany(docs, { ordered: false });
  });
  return { ms: performance.now() - t0, profiles, visitors };
}

/**
 * The backlog's requests: one visitor's 1–10 events each, identifies and orders mixed in; or, with `singles`, one
 * event each of anonymous visitors (page views, clicks, carts), as a load-test tool sends them.
 */
function* requests(total, history, seed, singles = false) {
  const rand = rng(seed);
  const historyProfiles = Math.floor(history / 10);
  let n = 0;
  let order = 0;
  while (n < total) {
    const returning = history && rand() < 0.3;
    const visitor = returning
      ? `h-${Math.floor(rand() * historyProfiles * 2)}`
      : `sale-${Math.floor(rand() * (total / 6))}`;
    const size = singles ? 1 : Math.min(total - n, 1 + Math.floor(rand() * 10));
    const batch = [];
    for (let k = 0; k < size; k++, n++) {
      const r = rand();
      let name;
      let properties;
      if (!singles && r < 0.02) {
        name = 'identify';
        const known = history && rand() < 0.5;
        properties = { email: known ? historyEmail(Math.floor(rand() * historyProfiles)) : `new-${visitor}@shop.test` };
      } else if (!singles && r < 0.03) {
        name = 'order_product';
        properties = {
          orderId: `o-${seed}-${order++}`,
          items: [{ productId: `sku-${n % 300}`, amount: 49.9, tax: 8.3, discount: 0 }],
        };
      } else {
        name = PAGE_NAMES[n % PAGE_NAMES.length];
        properties = props(name, n);
      }
      batch.push({
        messageId: `sale-${seed}-${n}`,
        name,
        timestamp: new Date().toISOString(),
        anonymousId: visitor,
        sessionId: `s-${visitor}`,
        properties,
        context: { library: { name: '@trackmate/browser', version: '0.2.0' } },
      });
    }
    yield batch;
  }
}

/** Posts the backlog to a collector without worker; returns how many events were acknowledged. */
async function buildBacklog(url, writeKey, total, history, seed, singles) {
  const it = requests(total, history, seed, singles);
  let accepted = 0;
  let calls = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: singles ? 50 : 32 }, async () => {
      for (let next = it.next(); !next.done; next = it.next()) {
        const batch = next.value;
        const body = JSON.stringify(batch.length === 1 ? batch[0] : { sentAt: new Date().toISOString(), batch });
        for (;;) {
          const res = await fetch(`${url}/api/track/event?writeKey=${writeKey}`, {
            method: 'POST',
            headers: {
              'content-type': 'text/plain',
              origin: 'https://shop.test',
              'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36',
            },
            body,
          });
          const answer = await res.json().catch(() => ({}));
          if (res.status === 202) {
            accepted += answer.accepted ?? 0;
            calls++;
            break;
          }
          if (res.status !== 503 && res.status !== 429)
            throw new Error(`backlog: ${res.status} ${JSON.stringify(answer)}`);
          await sleep(200);
        }
      }
    }),
  );
  return { accepted, requests: calls, ms: performance.now() - t0 };
}

async function startWorker(env) {
  const child = spawn(process.execPath, [CLI, 'worker'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // the worker's log, kept for a look after the run (its warnings say why a drain slowed or stalled)
  const log = createWriteStream(join(RESULTS, `saleday-worker-${child.pid}.log`));
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out = (out + d).slice(-4000);
      if (out.includes('workers started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${out}`)));
  });
  return {
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** insertMany of `total` documents of the stored shape into a collection with the events' indexes. */
async function rawInsertMany(db, siteId, total) {
  const baseline = db.collection('events_baseline');
  for (const ix of await db.collection('events').indexes()) {
    if (ix.name === '_id_') continue;
    const { key, name, v, ns, ...options } = ix;
    await baseline.createIndex(key, { ...options, name });
  }
  const site = new ObjectId(siteId);
  const t0 = performance.now();
  await inParallel(Math.ceil(total / 1000), 4, async (c) => {
    const docs = [];
    for (let i = c * 1000; i < Math.min(total, (c + 1) * 1000); i++) {
      const name = PAGE_NAMES[i % PAGE_NAMES.length];
      docs.push({
        siteId: site,
        messageId: `base-${i}`,
        profileId: null,
        anonymousId: `sale-${i % 5000}`,
        sessionId: `s-${i % 5000}`,
        name,
        timestamp: new Date(),
        receivedAt: new Date(),
        properties: props(name, i),
        context: { library: { name: '@trackmate/browser', version: '0.2.0' } },
        sentBy: 'client',
        userAgent: 'Mozilla/5.0',
        ip: '127.0.0.1',
      });
    }
    await baseline.insertMany(docs, { ordered: false });
  });
  const ms = performance.now() - t0;
  await baseline.drop();
  return { ms, eventsPerSec: (total / ms) * 1000 };
}

async function saleDay({ history, backlog, step, singles }) {
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const env = benchEnv({ TRACKMATE_WEBHOOK_ALLOW_PRIVATE: 'true' });
  const site = await createSite(env);
  const client = new MongoClient(env.MONGODB_URI);
  const db = client.db();
  const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('ingest', { connection, prefix: env.TRACKMATE_QUEUE_PREFIX });
  const out = { history, backlog };
  let api;
  let worker;
  let queueEvents;
  let eventsConnection; // BullMQ does not close a connection it was given: left open, the process would not exit
  try {
    out.historyBuild = await storeHistory(db, site.siteId, history);
    if (history) say(`history of ${fmt.n(history)} events stored in ${fmt.ms(out.historyBuild.ms)}`);
    api = await startCollector(env, { worker: false });
    const admin = (path, body) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${site.secretKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => {
        if (r.status !== 201) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      });
    await admin('/api/triggers', {
      name: 'Abandoned cart',
      entryEvent: 'add_to_cart',
      filters: [{ property: 'price', op: 'gt', value: 0 }],
      delaySeconds: 3600,
      exitEvents: ['order_product'],
      reentryHours: 24,
      action: { type: 'email', subject: 'Your cart', body: 'Hi {{profile.firstName}}' },
    });
    await admin('/api/webhooks', {
      url: `http://127.0.0.1:${receiver.address().port}/hook`,
      events: ['order_product'],
    });
    out.posted = await buildBacklog(api.url, site.writeKey, backlog, history, 7, singles);
    say(
      `backlog: ${fmt.n(out.posted.accepted)} events acknowledged in ${fmt.n(out.posted.requests)} requests, ${fmt.ms(out.posted.ms)}`,
    );
    await api.stop();
    out.jobs = await queue.count();
    await queue.pause();
    // from the worker's start: it waits for the copies below before it starts its workers
    const p0 = performance.now();
    worker = await startWorker(env);
    // the worker's first acts on a site with stored events, which a running installation has done long before:
    // marking the visitors whose events carry no profile (one read of the site's events), after which linking a
    // visitor reads its records, not `events`; then copying its links and profile keys to Redis
    const readyKeys = ['unlinked-ready', 'links-ready', 'profile-keys-ready'].map(
      (name) => `${env.TRACKMATE_QUEUE_PREFIX}:${name}:${site.siteId}`,
    );
    const lock = `${env.TRACKMATE_QUEUE_PREFIX}:unlinked-keeper-lock`;
    // a build without them (TRACKMATE_BENCH_CLI) never sets the keys: given up on after 10 s without the lock
    while ((await connection.exists(...readyKeys)) < readyKeys.length) {
      if (performance.now() - p0 > 10_000 && !(await connection.exists(lock))) break;
      await sleep(100);
    }
    out.prepareMs = performance.now() - p0;
    say(`the worker started and prepared the site's records and copies in ${fmt.ms(out.prepareMs)}`);
    eventsConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
    queueEvents = new QueueEvents('ingest', { connection: eventsConnection, prefix: env.TRACKMATE_QUEUE_PREFIX });
    await queueEvents.waitUntilReady();
    const curve = [];
    let done = 0;
    let nextMark = step;
    let markAt = performance.now();
    let last = 0;
    const t0 = performance.now();
    queueEvents.on('completed', ({ returnvalue }) => {
      const v = typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
      done += (v?.inserted ?? 0) + (v?.duplicates ?? 0) + (v?.failed ?? 0);
      const now = performance.now();
      while (done >= nextMark) {
        curve.push({ upTo: nextMark, eventsPerSec: ((nextMark - last) / (now - markAt)) * 1000 });
        last = nextMark;
        markAt = now;
        nextMark += step;
      }
    });
    await queue.resume();
    say(`draining ${fmt.n(out.jobs)} jobs with one worker process`);
    const ticker = setInterval(() => say(`${fmt.n(done)} events processed`), 30_000);
    out.drained = await waitForDrain(env, { budgetMs: 900_000, everyMs: 100 });
    clearInterval(ticker);
    out.drainMs = performance.now() - t0;
    out.processed = done;
    out.eventsPerSec = (done / out.drainMs) * 1000;
    out.curve = curve;
    await worker.stop();
    out.stored = await db.collection('events').countDocuments({ messageId: { $regex: /^sale-/ } });
    out.deadLetters = await db.collection('dead_letters').countDocuments({});
    say(`drained in ${fmt.ms(out.drainMs)}; raw insertMany of as many documents`);
    out.baseline = await rawInsertMany(db, site.siteId, backlog);
    out.ratio = out.eventsPerSec / out.baseline.eventsPerSec;
  } finally {
    await queueEvents?.close();
    eventsConnection?.disconnect();
    await worker?.stop();
    await api?.stop();
    await queue.close();
    connection.disconnect();
    await client.close();
    receiver.close();
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
    await dropDatabase(env.MONGODB_URI);
  }
  return out;
}

export async function benchSaleDay({ history = 1_000_000, backlog = 500_000, shape = 'browsers' } = {}) {
  const singles = shape === 'singles';
  const step = backlog >= 100_000 ? 50_000 : Math.max(1_000, Math.round(backlog / 10));
  const runs = [];
  // --history 0: the empty database alone (a quick A/B of two builds or settings)
  for (const h of history ? [0, history] : [0]) runs.push(await saleDay({ history: h, backlog, step, singles }));
  const [empty, full = empty] = runs;
  table(
    `3c. Sale day: ${fmt.n(backlog)} events ${singles ? 'sent one a request by anonymous visitors from 50 connections' : 'sent as browsers send them (1–10 a request, identifies and orders mixed in)'} with the worker stopped, then drained by one worker process`,
    [
      'case',
      'history built',
      'requests',
      'jobs',
      'events/job',
      'drain',
      'events/s',
      'raw insertMany/s',
      'vs insertMany (target >= 60 %)',
      'stored once',
    ],
    runs.map((r) => [
      `${fmt.n(r.history)} events stored before${r.drained ? '' : ' (NOT drained in 15 min)'}`,
      fmt.ms(r.historyBuild.ms),
      fmt.n(r.posted.requests),
      fmt.n(r.jobs),
      fmt.f1(r.posted.accepted / Math.max(1, r.jobs)),
      fmt.ms(r.drainMs),
      fmt.n(r.eventsPerSec),
      fmt.n(r.baseline.eventsPerSec),
      fmt.pct(r.ratio),
      r.stored + r.deadLetters === r.posted.accepted
        ? 'yes'
        : `NO (${r.stored} stored, ${r.deadLetters} dead, ${r.posted.accepted} accepted)`,
    ]),
  );
  if (history)
    console.log(
      `   with ${fmt.n(history)} events stored the drain runs at ${fmt.pct(full.eventsPerSec / empty.eventsPerSec)} of the empty database's (target >= 90 %)`,
    );
  const marks = Math.max(empty.curve.length, full.curve.length);
  table(
    `   drain rate per ${fmt.n(step)} events (events/s)`,
    ['events drained', 'empty database', `${fmt.n(history)} stored`],
    Array.from({ length: marks }, (_, i) => [
      fmt.n((empty.curve[i] ?? full.curve[i]).upTo),
      fmt.n(empty.curve[i]?.eventsPerSec),
      fmt.n(full.curve[i]?.eventsPerSec),
    ]),
  );
  return { runs, growth: full.eventsPerSec / empty.eventsPerSec };
}
