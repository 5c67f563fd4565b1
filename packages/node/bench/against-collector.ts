// Events per second the SDK gets accepted (202: durable in Redis) by the real collector, with default
// batching (flushAt 100), and how long the ingest worker then takes to store them all in MongoDB.
//
//   npx tsx packages/node/bench/against-collector.ts [events=50000] [maxInFlight=2] [--no-worker]
//
// With --no-worker the collector only takes events in (nothing is stored), which isolates the ingest API.
// Starts `trackmate-collector start` (API + worker) like the integration tests do: services from
// scripts/services.sh, its own database and queue prefix; build the collector first.
import { TrackMate } from '../src/index.js';
import { poll, startRealCollector } from '../test/helpers/real-collector.js';

const [events = '50000', inFlight = '2'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const total = Number(events);
const worker = !process.argv.includes('--no-worker');
const collector = await startRealCollector({ worker });
try {
  const tm = new TrackMate({
    secretKey: collector.site.secretKey,
    host: collector.host,
    maxInFlight: Number(inFlight),
  });
  let dropped = 0;
  let retried = 0;
  tm.on('drop', (d) => {
    dropped += d.events.length;
  });
  tm.on('error', () => {
    retried++;
  });
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    while (tm.queued >= 5000) await new Promise((r) => setImmediate(r));
    tm.track('bench_event', { plan: 'pro', seats: i % 50, price: 49.5 }, { email: `user${i % 1000}@example.com` });
  }
  await tm.close();
  const sent = (performance.now() - start) / 1000;
  console.log(
    `@trackmate/node → collector: ${total - dropped}/${total} events accepted in ${sent.toFixed(2)} s = ` +
      `${Math.round((total - dropped) / sent).toLocaleString('en')} events/s (flushAt 100, gzip on, ${inFlight} in flight, worker ${worker ? 'on' : 'off'}; ${retried} errors)`,
  );
  if (worker) {
    const stored = await poll(
      () => collector.db.collection('events').countDocuments({ name: 'bench_event' }),
      (n) => n >= total - dropped,
      600_000,
    );
    const all = (performance.now() - start) / 1000;
    console.log(
      `stored by the worker: ${stored} after ${all.toFixed(2)} s = ${Math.round(stored / all).toLocaleString('en')} events/s end to end`,
    );
  }
} finally {
  await collector.stop();
}
