import type { Models, SiteDoc } from '../models/index.js';

export interface CachedSite {
  id: string;
  name: string;
  allowedOrigins: string[];
}

interface Entry {
  site: CachedSite | null;
  expires: number;
}

const MAX_ENTRIES = 10_000;

/**
 * Write key → site through a short-lived cache: a hit costs no database round trip, a new or revoked key is
 * seen within `ttlMs` (plus one look-up: an expired entry is served while it is refreshed). Unknown keys are
 * cached briefly too, so a flood of bad keys does not reach MongoDB.
 */
export class SiteCache {
  private readonly byWriteKey = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<CachedSite | null>>();
  private origins: { set: Set<string>; expires: number } = { set: new Set(), expires: 0 };

  constructor(
    private readonly models: Models,
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 5_000,
  ) {}

  async byKey(writeKey: string): Promise<CachedSite | null> {
    const now = Date.now();
    const hit = this.byWriteKey.get(writeKey);
    if (hit && hit.expires > now) return hit.site;
    let pending = this.inflight.get(writeKey);
    if (!pending) {
      pending = this.load(writeKey).finally(() => this.inflight.delete(writeKey));
      this.inflight.set(writeKey, pending);
    }
    if (hit?.site) {
      // A known site is served from its expired entry while it is looked up again, so a MongoDB outage does not
      // stop ingestion (accepting events needs only Redis); the answer replaces the entry when it comes.
      pending.catch(() => {});
      return hit.site;
    }
    return pending;
  }

  /** Every origin any site allows, for CORS pre-flights that carry no key. */
  async anyOrigins(): Promise<Set<string>> {
    if (this.origins.expires > Date.now()) return this.origins.set;
    const sites = await this.models.Site.find({}, { allowedOrigins: 1 }).lean();
    const set = new Set(sites.flatMap((s) => s.allowedOrigins ?? []));
    this.origins = { set, expires: Date.now() + this.ttlMs };
    return set;
  }

  clear(): void {
    this.byWriteKey.clear();
    this.origins.expires = 0;
  }

  private async load(writeKey: string): Promise<CachedSite | null> {
    const doc = (await this.models.Site.findOne({ writeKey }, { name: 1, allowedOrigins: 1 }).lean()) as Pick<
      SiteDoc,
      '_id' | 'name' | 'allowedOrigins'
    > | null;
    const site = doc ? { id: doc._id.toString(), name: doc.name, allowedOrigins: doc.allowedOrigins ?? [] } : null;
    if (this.byWriteKey.size >= MAX_ENTRIES) this.byWriteKey.clear();
    this.byWriteKey.set(writeKey, { site, expires: Date.now() + (site ? this.ttlMs : this.negativeTtlMs) });
    return site;
  }
}
