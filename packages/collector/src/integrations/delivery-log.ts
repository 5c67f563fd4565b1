import type { Platform, PlatformDelivery } from '@trackmate/schema';
import type { Cluster, Redis } from 'ioredis';

/**
 * What became of a delivery: `accepted` (its events are queued), `duplicate` (a redelivery: everything in it is
 * stored already), `ignored` (acknowledged, nothing to store: another topic, an unpaid order), `ping` (a
 * platform's test), `refused` (401: no secret, or a bad or stale signature), `rejected` (400: not JSON, too large).
 */
export type Outcome = PlatformDelivery['outcome'];
export const OUTCOMES: readonly Outcome[] = ['accepted', 'duplicate', 'ignored', 'ping', 'refused', 'rejected'];

/** One delivery as the console shows it; no personal data (no e-mail, no body), only ids and reasons. */
export type Delivery = PlatformDelivery;

/** Deliveries kept per site and platform (the newest); the counts per outcome are kept whole. */
export const KEEP = 50;

export const hookKeys = (prefix: string, siteId: string, platform: Platform) => ({
  log: `${prefix}:hooks:${siteId}:${platform}:log`,
  counts: `${prefix}:hooks:${siteId}:${platform}:counts`,
});

/** The last deliveries of each site and platform, and how many ended each way, in Redis. */
export function deliveryLog(redis: Redis | Cluster, prefix: string) {
  return {
    async record(siteId: string, platform: Platform, d: Delivery): Promise<void> {
      const keys = hookKeys(prefix, siteId, platform);
      await Promise.all([
        redis.lpush(keys.log, JSON.stringify(d)).then(() => redis.ltrim(keys.log, 0, KEEP - 1)),
        redis.hincrby(keys.counts, d.outcome, 1),
      ]);
    },
    async read(siteId: string, platform: Platform, limit = KEEP) {
      const keys = hookKeys(prefix, siteId, platform);
      const [entries, counts] = await Promise.all([redis.lrange(keys.log, 0, limit - 1), redis.hgetall(keys.counts)]);
      return {
        counts: Object.fromEntries(OUTCOMES.map((o) => [o, Number(counts[o] ?? 0)])) as Record<Outcome, number>,
        deliveries: entries.map((e) => JSON.parse(e) as Delivery),
      };
    },
  };
}

export type DeliveryLog = ReturnType<typeof deliveryLog>;
