#!/usr/bin/env node
// `trackmate-console [--port 3000] [--host 127.0.0.1] [--collector http://127.0.0.1:8080]`: serves the built
// console (the package ships its `.next` build) in front of a running collector.
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.CONSOLE_PORT || '3000' },
    host: { type: 'string', default: process.env.CONSOLE_HOST || '127.0.0.1' },
    collector: { type: 'string', default: process.env.TRACKMATE_COLLECTOR_URL || 'http://127.0.0.1:8080' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: trackmate-console [--port 3000] [--host 127.0.0.1] [--collector http://127.0.0.1:8080]\n' +
      '  serves the TrackMate console; sign in with a site secret key (sk_…)\n',
  );
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`trackmate-console: --port must be a port number, got "${values.port}"\n`);
  process.exit(1);
}
try {
  new URL(values.collector);
} catch {
  process.stderr.write(`trackmate-console: --collector must be a URL, got "${values.collector}"\n`);
  process.exit(1);
}
process.env.TRACKMATE_COLLECTOR_URL = values.collector;
process.env.NEXT_TELEMETRY_DISABLED = '1';
process.env.NODE_ENV = 'production';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..');
const { default: next } = await import('next');
const app = next({ dir, dev: false, hostname: values.host, port });
await app.prepare();
const handle = app.getRequestHandler();
const server = createServer((req, res) => handle(req, res));
server.listen(port, values.host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`TrackMate console on http://${values.host}:${actual} (collector ${values.collector})\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
