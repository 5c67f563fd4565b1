// 2. HTTP ingest: autocannon against the collector (API only, its real Redis) and a bare Fastify hello world.
import { join } from 'node:path';
import autocannon from 'autocannon';
import {
  benchEnv,
  createSite,
  dropDatabase,
  dropRedisPrefix,
  fmt,
  freePort,
  ROOT,
  sampleMax,
  sleep,
  startCollector,
  startProcess,
  table,
} from './lib.mjs';
import { pacedLoad } from './paced.mjs';

const event = (i) => ({
  messageId: `bench-${process.pid}-${i}`,
  name: 'page_view',
  timestamp: new Date().toISOString(),
  anonymousId: `anon-${i % 1000}`,
  sessionId: `sess-${i % 1000}`,
  properties: { url: 'https://shop.test/products/42', referrer: 'https://search.example/', title: 'Product 42' },
  context: { library: { name: '@trackmate/browser', version: '0.1.0' } },
});

function run(opts) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on('error', () => {});
  });
}

function summarize(r, eventsPerRequest) {
  const ok = (r['2xx'] ?? 0) / (r.duration || 1);
  return {
    connections: r.connections,
    requestsPerSec: r.requests.average,
    okPerSec: ok,
    eventsPerSec: ok * eventsPerRequest,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

/** Each case: a short warm-up, then `duration` seconds measured. */
export async function benchHttp({
  duration = 5,
  connections = [10, 50, 100],
  profile,
  singleOnly = false,
  batchOnly = false,
} = {}) {
  // the HTTP path alone: no worker drains the queue here, so no backlog limit
  const env = benchEnv({ TRACKMATE_MAX_BACKLOG: '0' });
  const site = await createSite(env);
  const collector = await startCollector(env, {
    worker: false,
    nodeArgs: profile ? [`--cpu-prof`, `--cpu-prof-dir=${profile}`] : [],
  });
  const helloPort = await freePort();
  const hello = await startProcess([join(ROOT, 'bench/hello.mjs')], {
    env: { PORT: String(helloPort) },
    port: helloPort,
  });
  const rss = sampleMax(collector.rss);
  const out = {
    hello: [],
    echo: [],
    echoBatch: [],
    single: [],
    batch100: [],
    halfPeak: undefined,
    halfPeakEcho: undefined,
    collectorReadyMs: collector.readyMs,
  };
  const single = JSON.stringify({ ...event(0), writeKey: site.writeKey });
  const batch = JSON.stringify({
    writeKey: site.writeKey,
    sentAt: new Date().toISOString(),
    batch: Array.from({ length: 100 }, (_, i) => event(i)),
  });
  const post = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const measure = async (url, extra, n, c) => {
    const server = url.startsWith(hello.url) ? hello : collector;
    await run({ url, connections: c, duration: 1, ...extra });
    const cpu0 = server.cpuMs();
    const r = await run({ url, connections: c, duration, ...extra });
    const cpu = server.cpuMs() - cpu0;
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX); // what the API queued (no worker runs)
    // CPU time per answered request: unlike req/s, hardly moved by other work on a shared machine
    return { ...summarize(r, n), cpuUsPerRequest: (cpu * 1000) / Math.max(1, r['2xx'] ?? 0) };
  };
  try {
    if (singleOnly) {
      for (const c of connections)
        out.single.push(await measure(`${collector.url}/api/track/event`, post(single), 1, c));
      return out;
    }
    if (batchOnly) {
      for (const c of connections)
        out.batch100.push(await measure(`${collector.url}/api/track/event`, post(batch), 100, c));
      return out;
    }
    for (const c of connections) out.hello.push(await measure(`${hello.url}/`, {}, 1, c));
    for (const c of connections) out.echo.push(await measure(`${hello.url}/echo`, post(single), 1, c));
    for (const c of connections) out.single.push(await measure(`${collector.url}/api/track/event`, post(single), 1, c));
    for (const c of connections.slice(0, 2))
      out.echoBatch.push(await measure(`${hello.url}/echo`, post(batch), 100, c));
    const batchRss = sampleMax(collector.rss);
    for (const c of connections.slice(0, 2))
      out.batch100.push(await measure(`${collector.url}/api/track/event`, post(batch), 100, c));
    out.batchRssMax = batchRss.stop();
    // p99 at half of the measured peak single-event rate, requests spread evenly (paced.mjs)
    const peak = out.single.reduce((a, b) => (b.okPerSec > a.okPerSec ? b : a));
    await sleep(500);
    const half = Math.max(1, Math.floor(peak.okPerSec / 2));
    const pacedRow = (paced) => ({
      ...paced,
      connections: 'paced',
      eventsPerSec: paced.okPerSec,
      non2xx: paced.failed,
      errors: 0,
    });
    // the bare POST at the same rate: the latency the client and the machine add by themselves
    out.halfPeakEcho = pacedRow(await pacedLoad({ url: `${hello.url}/echo`, rate: half, duration, ...post(single) }));
    out.halfPeak = pacedRow(
      await pacedLoad({ url: `${collector.url}/api/track/event`, rate: half, duration, ...post(single) }),
    );
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
  } finally {
    out.collectorRssMax = rss.stop();
    await hello.stop();
    await collector.stop();
    await dropRedisPrefix(env.REDIS_URL, env.TRACKMATE_QUEUE_PREFIX);
    await dropDatabase(env.MONGODB_URI);
  }
  if (singleOnly || batchOnly) return out;
  const peak = (rows, field = 'okPerSec') => Math.max(...rows.map((h) => h[field]));
  const helloPeak = peak(out.hello);
  const echoPeak = peak(out.echo);
  const echoBatchPeak = peak(out.echoBatch, 'eventsPerSec');
  const singlePeak = peak(out.single);
  const batchPeak = peak(out.batch100, 'eventsPerSec');
  // the targets compare each case with a bare Fastify POST that parses the same body and answers 202, peak to peak
  out.ratios = {
    singleVsHello: singlePeak / helloPeak,
    singleVsBarePost: singlePeak / echoPeak,
    batchVsBarePost: batchPeak / echoBatchPeak,
    batchEventsPerSec: batchPeak,
    // CPU time per request of the bare POST ÷ the collector's, at the same connection count: the steadier figure
    singleByCpu: out.single.map((s, i) => out.echo[i].cpuUsPerRequest / s.cpuUsPerRequest),
    batchByCpu: out.batch100.map((s, i) => out.echoBatch[i].cpuUsPerRequest / s.cpuUsPerRequest),
  };
  const row = (name, s, target = '') => [
    name,
    String(s.connections),
    s.cpuUsPerRequest === undefined ? '—' : `${fmt.n(s.cpuUsPerRequest)} µs`,
    fmt.n(s.okPerSec),
    fmt.n(s.eventsPerSec),
    fmt.ms(s.p50),
    fmt.ms(s.p99),
    String(s.non2xx + s.errors),
    target,
  ];
  table(
    `2. HTTP ingest (autocannon ${duration} s per row; collector API with --no-worker, real Redis; RSS max ${fmt.mb(out.collectorRssMax)}, target <= 200 MB)`,
    ['case', 'conns', 'CPU/req', '2xx req/s', 'events/s', 'p50', 'p99', 'non-2xx', 'vs baseline / target'],
    [
      ...out.hello.map((s) => row('baseline: fastify hello world (GET)', s)),
      ...out.echo.map((s) =>
        row('baseline: bare fastify POST of the same event', s, `${fmt.pct(s.okPerSec / helloPeak)} of hello peak`),
      ),
      ...out.single.map((s) =>
        row('single-event POST', s, `${fmt.pct(s.okPerSec / echoPeak)} of bare POST peak (target >= 60 %)`),
      ),
      ...out.echoBatch.map((s) => row('baseline: bare fastify POST of the same 100-event body', s)),
      ...out.batch100.map((s) =>
        row('100-event batch POST', s, `${fmt.pct(s.eventsPerSec / echoBatchPeak)} of bare POST peak (target >= 30 %)`),
      ),
      row(`baseline: bare fastify POST paced at the same rate`, out.halfPeakEcho),
      row(
        `single-event POST paced at half of peak (${fmt.n(out.halfPeak.targetRate)}/s)`,
        out.halfPeak,
        `p99 ${fmt.ms(out.halfPeak.p99)} (target <= 10 ms)`,
      ),
    ],
  );
  const pcts = (list) => list.map((r) => fmt.pct(r)).join(', ');
  console.log(
    `   peak to peak: single-event POST ${fmt.pct(out.ratios.singleVsBarePost)} of the bare POST (target >= 60 %), ` +
      `100-event batches ${fmt.pct(out.ratios.batchVsBarePost)} (target >= 30 %); by CPU per request, same ` +
      `connections: single ${pcts(out.ratios.singleByCpu)}, batches ${pcts(out.ratios.batchByCpu)}; collector RSS ` +
      `max ${fmt.mb(out.batchRssMax)} during the batches (target <= 200 MB), ${fmt.mb(out.collectorRssMax)} over the step`,
  );
  return out;
}
