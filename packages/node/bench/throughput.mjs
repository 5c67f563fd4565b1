// Events per second the SDK delivers to a collector, with default batching (flushAt 100).
//
//   node packages/node/bench/throughput.mjs                 # against a dummy collector in a child process
//   node packages/node/bench/throughput.mjs --host URL --key sk_…   # against a running collector
//
// Options: --events N (default 200000), --kind track|order, --gzip true|false, --in-flight N.
// The dummy collector reads each body, gunzips it, JSON.parses it and answers 202, like a collector that
// does no work; the SDK runs in this process, after `npm run build` (it imports the built package).
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    host: { type: 'string' },
    key: { type: 'string', default: 'sk_bench' },
    events: { type: 'string', default: '200000' },
    kind: { type: 'string', default: 'track' },
    gzip: { type: 'string', default: 'true' },
    'in-flight': { type: 'string', default: '2' },
  },
});

if (args.serve) {
  let events = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const body = JSON.parse(raw.toString('utf8'));
      const n = body.batch ? body.batch.length : 1;
      events += n;
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: n, rejected: [] }));
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'count') process.send?.({ events });
  });
} else {
  await main();
}

async function main() {
  const { TrackMate } = await import('@trackmate/node');
  let child;
  let host = args.host;
  if (!host) {
    child = fork(new URL(import.meta.url).pathname, ['--serve']);
    const { port } = await new Promise((resolve) => child.once('message', resolve));
    host = `http://127.0.0.1:${port}`;
  }
  const total = Number(args.events);
  const client = new TrackMate({
    secretKey: args.key,
    host,
    gzip: args.gzip === 'true',
    maxInFlight: Number(args['in-flight']),
  });
  let dropped = 0;
  client.on('drop', (d) => {
    dropped += d.events.length;
  });
  const order = (i) => ({
    orderId: `ORD-${i}`,
    profile: {
      email: `buyer${i % 1000}@example.com`,
      firstName: 'Asha',
      lastName: 'Rao',
      phone: '+911234567890',
    },
    shippingAddress: { street: '1 MG Road', city: 'Bengaluru', postcode: '560001', country: 'IN' },
    items: [
      { name: 'Mug', sku: 'MUG-1', amount: 10, tax: 1.8, discount: 0 },
      { name: 'Tea', sku: 'TEA-7', amount: 6.5, tax: 1.17, discount: 0.5 },
    ],
    orderTotal: 18.97,
    currency: 'EUR',
  });

  const start = performance.now();
  for (let i = 0; i < total; i++) {
    // Back-pressure: let requests go out rather than fill the bounded queue.
    while (client.queued >= 5000) await new Promise((r) => setImmediate(r));
    if (args.kind === 'order') client.orderPlaced(order(i));
    else
      client.track(
        'plan_upgraded',
        { plan: 'pro', seats: i % 50, price: 49.5 },
        { email: `user${i % 1000}@example.com` },
      );
  }
  await client.close();
  const seconds = (performance.now() - start) / 1000;
  let received = total - dropped;
  if (child) {
    child.send('count');
    ({ events: received } = await new Promise((resolve) => child.once('message', resolve)));
    child.kill();
  }
  const rate = Math.round(received / seconds);
  console.log(
    `@trackmate/node ${args.kind} events: ${received}/${total} delivered in ${seconds.toFixed(2)} s = ${rate.toLocaleString('en')} events/s ` +
      `(flushAt 100, gzip ${args.gzip}, ${args['in-flight']} in flight, ${args.host ? 'collector' : 'dummy collector'} at ${host}; dropped ${dropped})`,
  );
}
