// A paced load: requests spread evenly over time (autocannon's overallRate sends each second's quota as a burst
// at the start of the second, which measures burst latency, not latency at a steady rate).
import { Agent, request } from 'node:http';

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Sends `rate` requests per second for `duration` seconds after a 1 s warm-up (connections, JIT) that is not
 * counted; latency from send to full answer, in ms.
 */
export async function pacedLoad(opts) {
  await pacedOnce({ ...opts, duration: 1 });
  return pacedOnce(opts);
}

async function pacedOnce({ url, rate, duration, method = 'POST', headers = {}, body, maxSockets = 64 }) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const target = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(body);
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let inflight = 0;
  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      inflight++;
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method,
          agent,
          headers: payload ? { ...headers, 'content-length': payload.length } : headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            if (res.statusCode >= 200 && res.statusCode < 300) ok++;
            else failed++;
            inflight--;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        inflight--;
        resolve();
      });
      req.end(payload);
    });
  const total = Math.round(rate * duration);
  const started = performance.now();
  const pending = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due) {
      pending.push(one());
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    targetRate: rate,
    okPerSec: ok / elapsed,
    failed,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1),
    maxInflight: inflight,
  };
}
