import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedRequest {
  at: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Raw bytes as they came over the wire. */
  raw: Buffer;
  /** The JSON body, gunzipped when the request says so. */
  json: { batch?: Array<Record<string, unknown>> } & Record<string, unknown>;
}

/** What the stub answers; `hang` never answers (until the stub closes). */
export type Reply = { status: number; headers?: Record<string, string>; body?: unknown; delay?: number } | 'hang';

/**
 * A real HTTP server standing in for the collector. `reply` decides each answer (default: 202 accepting all);
 * every request is recorded, decoded, in `requests`.
 */
export async function startStubCollector(reply?: (req: ReceivedRequest, index: number) => Reply) {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      const received: ReceivedRequest = {
        at: Date.now(),
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
        json: JSON.parse(text),
      };
      const index = requests.push(received) - 1;
      const answer = reply?.(received, index) ?? accept(received);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      const send = () => {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      };
      if (answer.delay) setTimeout(send, answer.delay);
      else send();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: `http://127.0.0.1:${port}`,
    requests,
    /** Every event received, in arrival order, across requests. */
    events: () => requests.flatMap((r) => r.json.batch ?? [r.json]),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export function accept(req: ReceivedRequest): Reply {
  return { status: 202, body: { accepted: req.json.batch?.length ?? 1, rejected: [] } };
}

export type StubCollector = Awaited<ReturnType<typeof startStubCollector>>;

export const SECRET_KEY = 'sk_test_0123456789abcdef';

/** Waits until `check` holds, polling; fails after `timeout` ms. */
export async function until(check: () => boolean, timeout = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeout) throw new Error(`condition not met within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
