import { rawCollection } from '../lib/raw-collection.js';
import type { EventDoc, Models } from '../models/index.js';

/** Events whose roll-up also counts an order and its revenue. */
export const ORDER_EVENTS = new Set(['order_placed', 'order_product']);

interface Bucket {
  siteId: string;
  day: string;
  name: string;
  count: number;
  orders: number;
  revenue: number;
  /** metrics_visitors ids of the visitors seen in this bucket. */
  visitorIds: Set<string>;
  visitors: number;
}

/** UTC day of an event, YYYY-MM-DD. */
export const utcDay = (d: Date) => d.toISOString().slice(0, 10);

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

const ignoreDuplicates = (err: unknown) => {
  const writeErrors = (err as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  if (!list.length || list.some((w) => w.code !== 11000)) throw err;
};

/**
 * Records one ingest job's contribution to the roll-ups, exactly once however often the job is retried,
 * with inserts only (atomic and idempotent on FerretDB as on MongoDB, unlike concurrent `$inc`s, which
 * FerretDB 1.24 can lose):
 * 1. each (site, day, name, visitor) is claimed in metrics_visitors, tagged with the job: a visitor counts
 *    for the job that claimed it first;
 * 2. one metrics_pending document per bucket, `_id` = `<bucket>|<jobKey>`, carries the job's counts; a retry
 *    computes the same documents and its inserts are duplicates.
 * The roll-up folder adds them to metrics_daily (jobs/rollup-folder.ts).
 */
export async function recordRollups(models: Models, events: EventDoc[], jobKey: string): Promise<number> {
  const buckets = new Map<string, Bucket>();
  for (const e of events) {
    const siteId = e.siteId.toString();
    const day = utcDay(new Date(e.timestamp));
    const id = `${siteId}:${day}:${e.name}`;
    let b = buckets.get(id);
    if (!b) {
      b = { siteId, day, name: e.name, count: 0, orders: 0, revenue: 0, visitorIds: new Set(), visitors: 0 };
      buckets.set(id, b);
    }
    b.count++;
    if (ORDER_EVENTS.has(e.name)) {
      b.orders++;
      b.revenue += revenueOf(e.properties ?? {});
    }
    const visitor = e.anonymousId ?? e.profileId?.toString();
    if (visitor) b.visitorIds.add(`${id}:${visitor}`);
  }
  if (!buckets.size) return 0;
  await countVisitors(models, buckets, jobKey);
  const at = new Date();
  const docs = [...buckets].map(([bucket, b]) => ({
    _id: `${bucket}|${jobKey}`,
    bucket,
    siteId: b.siteId,
    day: b.day,
    name: b.name,
    count: b.count,
    visitors: b.visitors,
    orders: b.orders,
    revenue: Math.round(b.revenue * 100) / 100,
    state: 'pending' as const,
    at,
  }));
  await rawCollection(models.MetricsPending).insertMany(docs, { ordered: false }).catch(ignoreDuplicates);
  return docs.length;
}

/** Claims each (bucket, visitor) for this job; a visitor counts in a bucket for the job that claimed it first. */
async function countVisitors(models: Models, buckets: Map<string, Bucket>, jobKey: string): Promise<void> {
  const ids = [...buckets.values()].flatMap((b) => [...b.visitorIds]);
  if (!ids.length) return;
  const col = rawCollection(models.MetricsVisitor);
  let duplicates = false;
  await col
    .insertMany(
      ids.map((_id) => ({ _id, job: jobKey })),
      { ordered: false },
    )
    .catch((err) => {
      ignoreDuplicates(err);
      duplicates = true;
    });
  let mine: Set<string>;
  if (!duplicates) mine = new Set(ids);
  else
    mine = new Set(
      (await col.find({ _id: { $in: ids }, job: jobKey }, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
    );
  for (const b of buckets.values()) b.visitors = [...b.visitorIds].filter((id) => mine.has(id)).length;
}
