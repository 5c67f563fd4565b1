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
const hops = Number(process.env.TRACKMATE_CONSOLE_TRUST_PROXY || '0');
if (!Number.isInteger(hops) || hops < 0 || hops > 32) {
  process.stderr.write(
    `trackmate-console: TRACKMATE_CONSOLE_TRUST_PROXY must be a number of proxy hops (0-32), got "${process.env.TRACKMATE_CONSOLE_TRUST_PROXY}"\n`,
  );
  process.exit(1);
}
// The session cookie holds a secret key: over plain HTTP anyone on the way reads it. Only this machine may be
// served without TLS, unless told that a TLS proxy is in front (or that the network is trusted).
const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(values.host);
if (!loopback && !/^(1|true)$/i.test(process.env.TRACKMATE_CONSOLE_ALLOW_HTTP || '')) {
  process.stderr.write(
    `trackmate-console: refusing to serve plain HTTP on ${values.host}: the session cookie carries a secret key. ` +
      'Put a TLS proxy in front and set TRACKMATE_CONSOLE_ALLOW_HTTP=true, or listen on 127.0.0.1\n',
  );
  process.exit(1);
}
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
/**
 * The visitor's address, for the sign-in limit and the collector's auth-failure limit: the socket's, or with
 * TRACKMATE_CONSOLE_TRUST_PROXY=n the address n hops from the right of X-Forwarded-For. Set on the request as
 * `x-trackmate-client-ip` (what a client sent under that name is replaced), where the server actions read it.
 */
const clientIp = (req) => {
  const chain = [
    ...String(req.headers['x-forwarded-for'] ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
    req.socket.remoteAddress ?? '',
  ];
  return hops ? (chain[Math.max(0, chain.length - 1 - hops)] ?? '') : chain[chain.length - 1];
};
const server = createServer((req, res) => {
  req.headers['x-trackmate-client-ip'] = clientIp(req).replace(/^::ffff:/, '');
  return handle(req, res);
});
server.listen(port, values.host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`TrackMate console on http://${values.host}:${actual} (collector ${values.collector})\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
