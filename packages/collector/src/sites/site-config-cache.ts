import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';

/** The Redis key whose value changes whenever a site's triggers or webhooks change. */
const versionKey = (prefix: string, siteId: string) => `${prefix}:site-config:${siteId}`;

/** Called by every write to a site's triggers or webhook subscriptions (with the site's id as documents hold it, or its hex). */
export async function bumpSiteConfig(
  redis: Pick<Redis, 'incr'>,
  prefix: string,
  siteId: Types.ObjectId | string,
): Promise<void> {
  await redis.incr(versionKey(prefix, String(siteId))).catch(() => {
    // Redis away: the workers' caches expire by age (maxAgeMs) instead
  });
}

interface Entry<T> {
  version: string | null;
  items: T[];
  at: number;
}

/**
 * A per-process cache of something every ingest job reads for each of its sites (the active triggers, the
 * webhook subscriptions), kept exact by a version number in Redis that the API bumps on every change: a job
 * pays one MGET instead of a database query per site. Entries also expire after `maxAgeMs`, and when Redis does
 * not answer the database is read.
 */
export class SiteConfigCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly redis: Pick<Redis, 'mget'>,
    private readonly prefix: string,
    private readonly load: (siteIds: string[]) => Promise<Map<string, T[]>>,
    private readonly maxAgeMs = 60_000,
  ) {}

  async get(siteIds: string[]): Promise<Map<string, T[]>> {
    let versions: Array<string | null>;
    try {
      versions = await this.redis.mget(siteIds.map((id) => versionKey(this.prefix, id)));
    } catch {
      return this.load(siteIds);
    }
    const now = Date.now();
    const out = new Map<string, T[]>();
    const stale: string[] = [];
    siteIds.forEach((id, i) => {
      const hit = this.entries.get(id);
      if (hit && hit.version === versions[i] && now - hit.at < this.maxAgeMs) out.set(id, hit.items);
      else stale.push(id);
    });
    if (stale.length) {
      const loaded = await this.load(stale);
      for (const id of stale) {
        const items = loaded.get(id) ?? [];
        this.entries.set(id, { version: versions[siteIds.indexOf(id)] ?? null, items, at: now });
        out.set(id, items);
      }
      if (this.entries.size > 10_000) this.entries.clear();
    }
    return out;
  }
}
