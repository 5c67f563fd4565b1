import { type NewEventDoc, sentByOf } from '../models/index.js';
import type { PendingContribution, PendingContributions } from './pending-contributions.js';

/** Events whose roll-up also counts an order and its revenue, when a server (secret key) sent them. */
const ORDER_EVENTS = new Set(['order_placed', 'order_product']);
/** A refund from a server: its `amount` is taken off the revenue of the day it was made (its bucket's is negative). */
const REFUND_EVENT = 'order_refunded';

interface Bucket {
  count: number;
  orders: number;
  /** Revenue of orders that name no currency. */
  revenue: number;
  /** Revenue of orders that name one, per ISO 4217 code: amounts in two currencies are never added. */
  byCurrency: Record<string, number>;
  visitors: Set<string>;
}

/** UTC day of an event, YYYY-MM-DD. */
const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** Money a refund returned: its `amount` when it is a positive number, else nothing. */
export function refundOf(properties: Record<string, unknown>): number {
  const a = properties.amount;
  return typeof a === 'number' && Number.isFinite(a) && a > 0 ? a : 0;
}

/** Revenue of an order event: orderTotal when given, else the items' amount + tax − discount. */
export function revenueOf(properties: Record<string, unknown>): number {
  if (typeof properties.orderTotal === 'number' && Number.isFinite(properties.orderTotal)) return properties.orderTotal;
  if (!Array.isArray(properties.items)) return 0;
  let sum = 0;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  for (const item of properties.items as Array<Record<string, unknown> | null>) {
    sum += n(item?.amount) + n(item?.tax) - n(item?.discount);
  }
  return Math.round(sum * 100) / 100;
}

const CURRENCY = /^[A-Z]{3}$/;

/** An order's ISO 4217 currency code, or null when it names none (or something else). */
export function currencyOf(properties: Record<string, unknown>): string | null {
  const c = properties.currency;
  return typeof c === 'string' && CURRENCY.test(c) ? c : null;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Where distinct visitors are counted: Redis HyperLogLogs, one per bucket (see rollup-folder.ts). */
export interface VisitorSketches {
  add(visitorsByBucket: Map<string, string[]>): Promise<void>;
}

/** One ingest job's events, by its key (stable across retries); `fresh`: every one inserted by this attempt. */
export interface RollupPart {
  key: string;
  events: NewEventDoc[];
  fresh: boolean;
}

/**
 * Records ingest jobs' contributions to the roll-ups, exactly once however often a job is retried, without
 * touching metrics_daily (concurrent `$inc`s on one document can be lost on FerretDB 1.24): one pending
 * contribution per job and bucket, the job's counts, in Redis (rollups/pending-contributions.ts), written only if
 * that job's is not pending already; a retry computes the same contributions: they are pending still, or the
 * folded markers say they were folded already. Visitors go to the bucket's sketch, where adding one twice changes
 * nothing. The roll-up folder adds all this to metrics_daily (rollups/rollup-folder.ts). A part is `fresh` when
 * every event was inserted by this attempt, so no earlier attempt can have recorded anything and the retry check
 * is skipped. Several jobs stored together (the ingest worker's batches) are one sketch update and one MULTI.
 */
export async function recordRollups(
  contributions: PendingContributions,
  sketches: VisitorSketches,
  parts: readonly RollupPart[],
): Promise<number> {
  const visitors = new Map<string, Set<string>>();
  const pending: PendingContribution[] = [];
  for (const { key: jobKey, events, fresh } of parts) {
    const buckets = new Map<string, Bucket>();
    for (const e of events) {
      const id = `${e.siteId.toString()}:${utcDay(new Date(e.timestamp))}:${e.name}`;
      let b = buckets.get(id);
      if (!b) {
        b = { count: 0, orders: 0, revenue: 0, byCurrency: {}, visitors: new Set() };
        buckets.set(id, b);
      }
      b.count++;
      // only a backend's order counts as an order with revenue: anyone can send a browser event with any amount
      const isOrder = ORDER_EVENTS.has(e.name);
      if ((isOrder || e.name === REFUND_EVENT) && sentByOf(e) === 'server') {
        if (isOrder) b.orders++;
        const amount = isOrder ? revenueOf(e.properties ?? {}) : -refundOf(e.properties ?? {});
        const currency = currencyOf(e.properties ?? {});
        if (currency) b.byCurrency[currency] = (b.byCurrency[currency] ?? 0) + amount;
        else b.revenue += amount;
      }
      const visitor = e.anonymousId ?? e.profileId?.toString();
      if (visitor) {
        b.visitors.add(visitor);
        const all = visitors.get(id);
        if (all) all.add(visitor);
        else visitors.set(id, new Set([visitor]));
      }
    }
    let entries = [...buckets];
    if (!fresh) {
      const done = await contributions.folded(entries.map(([bucket]) => ({ bucket, jobKey })));
      entries = entries.filter((_, i) => !done[i]);
    }
    for (const [bucket, b] of entries) {
      pending.push({
        bucket,
        jobKey,
        contribution: {
          count: b.count,
          orders: b.orders,
          revenue: round2(b.revenue),
          revenueByCurrency: Object.fromEntries(Object.entries(b.byCurrency).map(([c, n]) => [c, round2(n)])),
          retry: !fresh,
        },
      });
    }
  }
  if (visitors.size) await sketches.add(new Map([...visitors].map(([id, set]) => [id, [...set]])));
  await contributions.add(pending);
  return pending.length;
}
