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

const isDuplicate = (err: unknown) => (err as { code?: number }).code === 11000;

/** UTC day of an event, YYYY-MM-DD. */
export const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** Revenue of an order event: orderTotal when given, else the items' amount + tax − discount. */
export function revenueOf(properties: Record<string, unknown>): number {
  if (typeof properties.orderTotal === 'number' && Number.isFinite(properties.orderTotal)) return properties.orderTotal;
  if (!Array.isArray(properties.items)) return 0;
  let sum = 0;
  for (const item of properties.items as Array<Record<string, unknown>>) {
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    sum += n(item?.amount) + n(item?.tax) - n(item?.discount);
  }
  return Math.round(sum * 100) / 100;
}

/**
 * Adds one ingest job's events to metrics_daily, exactly once however often the job is retried, with no
 * transaction (FerretDB has none):
 * 1. the visitors are claimed in metrics_visitors (unique per site, day, name and visitor, tagged with the job);
 * 2. each bucket gets `$inc` and `$push: { jobs: jobKey }` in one update guarded by `jobs: { $ne: jobKey }`,
 *    so a retry after a crash at any point cannot add the same job to a bucket twice;
 * 3. rollup_jobs records the job as applied; 4. the job is pulled from the buckets' `jobs` again.
 * A retry after 3 skips to 4; a retry before 3 finds its key in each bucket it already increased.
 */
export async function applyRollups(models: Models, events: EventDoc[], jobKey: string): Promise<void> {
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
  if (!buckets.size) return;

  const applied = await rawCollection(models.RollupJob).findOne({ _id: jobKey });
  if (!applied) {
    await countVisitors(models, buckets, jobKey);
    for (const [id, b] of buckets) await incrementBucket(models, id, b, jobKey);
    await rawCollection(models.RollupJob)
      .insertOne({ _id: jobKey, at: new Date() })
      .catch((err) => {
        if (!isDuplicate(err)) throw err;
      });
  }
  await rawCollection(models.MetricsDaily).updateMany(
    { _id: { $in: [...buckets.keys()] } },
    { $pull: { jobs: jobKey } },
  );
}

/** Claims each (bucket, visitor) for this job; a visitor counts in a bucket for the job that claimed it first. */
async function countVisitors(models: Models, buckets: Map<string, Bucket>, jobKey: string): Promise<void> {
  const ids = [...buckets.values()].flatMap((b) => [...b.visitorIds]);
  if (!ids.length) return;
  try {
    await rawCollection(models.MetricsVisitor).insertMany(
      ids.map((_id) => ({ _id, job: jobKey })),
      { ordered: false },
    );
  } catch (err) {
    if (!(err as { writeErrors?: unknown }).writeErrors) throw err;
  }
  const mine = new Set(
    (
      await rawCollection(models.MetricsVisitor)
        .find({ _id: { $in: ids }, job: jobKey }, { projection: { _id: 1 } })
        .toArray()
    ).map((d) => d._id as unknown as string),
  );
  for (const b of buckets.values()) b.visitors = [...b.visitorIds].filter((id) => mine.has(id)).length;
}

async function incrementBucket(models: Models, id: string, b: Bucket, jobKey: string): Promise<void> {
  const update = {
    $inc: { count: b.count, visitors: b.visitors, orders: b.orders, revenue: b.revenue },
    $push: { jobs: jobKey },
    $setOnInsert: { siteId: b.siteId, day: b.day, name: b.name },
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await rawCollection(models.MetricsDaily).updateOne({ _id: id, jobs: { $ne: jobKey } }, update, {
        upsert: true,
      });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000 || attempt >= 4) throw err;
      // Either this job is applied to the bucket already, or another job created the bucket at the same moment.
      const done = await rawCollection(models.MetricsDaily).findOne(
        { _id: id, jobs: jobKey },
        { projection: { _id: 1 } },
      );
      if (done) return;
    }
  }
}
