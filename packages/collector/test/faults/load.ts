import type { Db } from 'mongodb';

/** One uniquely numbered event: `${prefix}-${n}`, so what is stored can be matched against what was sent. */
export function numberedEvent(prefix: string, n: number): Record<string, unknown> {
  return {
    messageId: `${prefix}-${n}`,
    name: 'fault_probe',
    timestamp: new Date().toISOString(),
    anonymousId: `anon-${n % 50}`,
    sessionId: `sess-${n % 50}`,
    properties: { n },
  };
}

export interface LoadOptions {
  url: string;
  writeKey: string;
  prefix: string;
  /** Parallel senders. */
  senders?: number;
  /** Events per request. */
  batchSize?: number;
  /** Pause of each sender between requests. */
  pauseMs?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/**
 * A steady stream of uniquely numbered events, as SDKs would send them, remembering the answer to each: a 202
 * acknowledges the events (they must then be stored exactly once); anything else leaves them unacknowledged,
 * and `resendUnacknowledged()` sends them again the way an SDK retries once the collector recovers.
 */
export class SteadyLoad {
  readonly acked = new Set<string>();
  readonly unacked = new Map<string, Record<string, unknown>>();
  /** Answers by status (`network` for a connection error or timeout). */
  readonly statuses = new Map<string, number>();
  private next = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: LoadOptions) {}

  get sent(): number {
    return this.next;
  }

  start(): void {
    this.running = true;
    const senders = this.opts.senders ?? 4;
    for (let i = 0; i < senders; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** How many answers had `status` since the start. */
  count(status: number | 'network'): number {
    return this.statuses.get(String(status)) ?? 0;
  }

  /** Resolves once at least `n` more answers with `status` have come (or throws after `timeoutMs`). */
  async waitForAnswers(status: number | 'network', n: number, timeoutMs = 20_000): Promise<void> {
    const target = this.count(status) + n;
    const deadline = Date.now() + timeoutMs;
    while (this.count(status) < target) {
      if (Date.now() > deadline) {
        throw new Error(`waited ${timeoutMs} ms for ${n} answers ${status}; answers so far: ${this.summary()}`);
      }
      await sleep(50);
    }
  }

  summary(): string {
    return JSON.stringify(Object.fromEntries(this.statuses));
  }

  /** Sends every unacknowledged event again until all are acknowledged (an SDK's retry after recovery). */
  async resendUnacknowledged(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.unacked.size) {
      if (Date.now() > deadline) throw new Error(`${this.unacked.size} events still unacknowledged after resending`);
      const batch = [...this.unacked.values()].slice(0, 200);
      const ok = await this.post(batch);
      if (!ok) await sleep(200);
    }
  }

  private async loop(): Promise<void> {
    const size = this.opts.batchSize ?? 10;
    while (this.running) {
      const batch: Record<string, unknown>[] = [];
      for (let i = 0; i < size; i++) batch.push(numberedEvent(this.opts.prefix, this.next++));
      for (const e of batch) this.unacked.set(e.messageId as string, e);
      await this.post(batch);
      await sleep(this.opts.pauseMs ?? 20);
    }
  }

  private async post(batch: Record<string, unknown>[]): Promise<boolean> {
    let status: string;
    try {
      const res = await fetch(`${this.opts.url}/api/track/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ writeKey: this.opts.writeKey, sentAt: new Date().toISOString(), batch }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000),
      });
      await res.arrayBuffer();
      status = String(res.status);
    } catch {
      status = 'network';
    }
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (status !== '202') return false;
    for (const e of batch) {
      this.acked.add(e.messageId as string);
      this.unacked.delete(e.messageId as string);
    }
    return true;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** How many times each messageId is stored in `events`. */
export async function storedCounts(db: Db): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const cursor = db.collection('events').find({}, { projection: { _id: 0, messageId: 1 } });
  for await (const doc of cursor) {
    const id = doc.messageId as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export interface Delivery {
  /** Acknowledged (or expected) events not stored. */
  missing: string[];
  /** Events stored more than once. */
  duplicated: string[];
  /** Stored events nobody sent. */
  unexpected: string[];
}

/** Compares what is stored with the events expected, for "exactly once" assertions with readable failures. */
export async function delivery(db: Db, expected: Iterable<string>, sentPrefix: string): Promise<Delivery> {
  const counts = await storedCounts(db);
  const want = new Set(expected);
  const missing = [...want].filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
  const unexpected = [...counts.keys()].filter((id) => !id.startsWith(`${sentPrefix}-`));
  return { missing: missing.slice(0, 20), duplicated: duplicated.slice(0, 20), unexpected: unexpected.slice(0, 20) };
}

/** Waits until every expected event is stored (or the time is up), then returns the comparison. */
export async function settle(db: Db, expected: Set<string>, sentPrefix: string, timeoutMs = 60_000): Promise<Delivery> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await storedCounts(db);
    let all = true;
    for (const id of expected) {
      if (!counts.has(id)) {
        all = false;
        break;
      }
    }
    if (all || Date.now() > deadline) return delivery(db, expected, sentPrefix);
    await sleep(500);
  }
}
