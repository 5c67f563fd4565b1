import type { UrlParams } from '@trackmate/schema';
import type { QueryFilter, Types } from 'mongoose';
import type { Models, SiteDoc } from '../models/index.js';
import { hashSecretKey, isSecretKeyShape, isWriteKeyShape } from './keys.js';

export interface CachedSite {
  id: string;
  name: string;
  allowedOrigins: string[];
  /**
   * For secret keys: `admin` (the site's secret key), `ingest` (sends server events only) or `stats` (reads the
   * stats routes only).
   */
  scope?: 'admin' | 'ingest' | 'stats';
  /** A key replaced by a rotation, still accepted during its overlap: it only sends events. */
  retired?: true;
  /** What a browser's consent counts for (see the site model). */
  consentMode: ConsentMode;
  /** Which query parameters stored URLs keep (ingest/url-params.ts). */
  urlParams: UrlParams;
}

export type ConsentMode = 'single' | 'double' | 'server';

interface Entry {
  site: CachedSite | null;
  expires: number;
  /** A retired key's end (rotation with an overlap): never served past it, not even stale. */
  until?: number;
}

export interface KeyCacheOptions {
  /** How long a known key is trusted before it is looked up again (served stale meanwhile). */
  ttlMs: number;
  /** How long an unknown key is remembered as unknown. */
  negativeTtlMs: number;
  /** Most keys held; expired entries go first, then the oldest. */
  maxEntries: number;
  /** How old the set of every site's keys (`exists`) may be before a key missing from it has it read again. */
  allKeysTtlMs: number;
}

const DEFAULTS: KeyCacheOptions = { ttlMs: 30_000, negativeTtlMs: 5_000, maxEntries: 10_000, allKeysTtlMs: 1_000 };

/**
 * Key → site, for write keys (browsers) and secret keys (servers, admin API) alike. A hit costs no database
 * round trip; a new or revoked key is seen within `ttlMs`. An expired entry of a known site is served while it
 * is looked up again, so a MongoDB outage does not stop ingestion (accepting events needs only Redis). Unknown
 * keys are cached briefly too, and keys of the wrong shape never reach the cache or MongoDB.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<CachedSite | null>>();
  private origins: { set: Set<string>; expires: number } = { set: new Set(), expires: 0 };
  private allKeys: { set: Set<string>; expires: number; pending?: Promise<Set<string>> } = {
    set: new Set(),
    expires: 0,
  };
  private readonly options: KeyCacheOptions;

  constructor(
    private readonly models: Models,
    options: Partial<KeyCacheOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The site of a public write key (`pk_…`), or null. */
  byWriteKey(writeKey: string): Promise<CachedSite | null> {
    if (!isWriteKeyShape(writeKey)) return Promise.resolve(null);
    return this.lookup(`w:${writeKey}`, 'write', writeKey, { $or: [{ writeKey }, { 'retiredKeys.value': writeKey }] });
  }

  /**
   * The site of a write key held and not yet due for a new lookup, with no promise made: the track endpoints'
   * hot path (`byWriteKey` answers the same for it). Undefined when `byWriteKey` has to be asked.
   */
  freshWriteKeySite(writeKey: string): CachedSite | undefined {
    const hit = this.entries.get(`w:${writeKey}`);
    return hit?.site && hit.expires > Date.now() ? hit.site : undefined;
  }

  /** The site of a secret key (`sk_…`), found by its hash, or null. */
  bySecretKey(secretKey: string): Promise<CachedSite | null> {
    if (!isSecretKeyShape(secretKey)) return Promise.resolve(null);
    const hash = hashSecretKey(secretKey);
    return this.lookup(`s:${hash}`, 'secret', hash, {
      $or: [
        { secretKeyHash: hash },
        { ingestKeyHash: hash },
        { 'statsKeys.hash': hash },
        { 'retiredKeys.value': hash },
      ],
    });
  }

  /** Drops every key of a site (after its keys or origins changed), so this process looks them up again. */
  forgetSite(siteId: Types.ObjectId | string): void {
    const id = String(siteId);
    for (const [key, entry] of this.entries) if (entry.site?.id === id) this.entries.delete(key);
    this.origins.expires = 0;
    this.allKeys.expires = 0;
  }

  /**
   * Whether any site has this key (current or retired), from a set of every key of every site, read again when a
   * key is not in it and the set is older than `allKeysTtlMs` (one query, whatever number of keys are asked
   * about). For clients over their allowance of unknown keys: guesses cost at most one query per `allKeysTtlMs`
   * between them, and a valid key is never refused for its sender's guesses (a key made by another process is
   * found within `allKeysTtlMs`).
   */
  async exists(kind: 'write' | 'secret', key: string): Promise<boolean> {
    if (kind === 'write' ? !isWriteKeyShape(key) : !isSecretKeyShape(key)) return false;
    if (this.knows(kind, key)) return true;
    const value = kind === 'write' ? key : hashSecretKey(key);
    if (!this.allKeys.set.has(value) && this.allKeys.expires <= Date.now()) {
      this.allKeys.pending ??= this.loadAllKeys().finally(() => {
        this.allKeys.pending = undefined;
      });
      await this.allKeys.pending;
    }
    return this.allKeys.set.has(value);
  }

  private async loadAllKeys(): Promise<Set<string>> {
    const sites = await this.models.Site.find(
      {},
      { writeKey: 1, secretKeyHash: 1, ingestKeyHash: 1, statsKeys: 1, retiredKeys: 1 },
    ).lean();
    const set = new Set<string>();
    for (const s of sites) {
      for (const v of [
        s.writeKey,
        s.secretKeyHash,
        s.ingestKeyHash,
        ...(s.statsKeys ?? []).map((k) => k.hash),
        ...(s.retiredKeys ?? []).map((k) => k.value),
      ]) {
        if (v) set.add(v);
      }
    }
    this.allKeys = { set, expires: Date.now() + this.options.allKeysTtlMs };
    return set;
  }

  /** Whether a key is held as a known site's (then no lookup is needed, nor a guess to be rate-limited). */
  knows(kind: 'write' | 'secret', key: string): boolean {
    const cacheKey = kind === 'write' ? `w:${key}` : `s:${hashSecretKey(key)}`;
    return Boolean(this.entries.get(cacheKey)?.site);
  }

  /** Every origin any site allows, for CORS pre-flights that carry no key. */
  async anyOrigins(): Promise<Set<string>> {
    if (this.origins.expires > Date.now()) return this.origins.set;
    const sites = await this.models.Site.find({}, { allowedOrigins: 1 }).lean();
    const set = new Set(sites.flatMap((s) => s.allowedOrigins ?? []));
    this.origins = { set, expires: Date.now() + this.options.ttlMs };
    return set;
  }

  private lookup(cacheKey: string, kind: 'write' | 'secret', value: string, filter: QueryFilter<SiteDoc>) {
    const hit = this.entries.get(cacheKey);
    const now = Date.now();
    if (hit && hit.expires > now) return Promise.resolve(hit.site);
    let pending = this.inflight.get(cacheKey);
    if (!pending) {
      pending = this.load(cacheKey, kind, value, filter).finally(() => this.inflight.delete(cacheKey));
      this.inflight.set(cacheKey, pending);
    }
    if (hit?.site && !(hit.until !== undefined && hit.until <= now)) {
      pending.catch(() => {});
      return Promise.resolve(hit.site);
    }
    return pending;
  }

  private async load(cacheKey: string, kind: 'write' | 'secret', value: string, filter: QueryFilter<SiteDoc>) {
    const doc = await this.models.Site.findOne(filter, {
      name: 1,
      allowedOrigins: 1,
      consentMode: 1,
      urlParams: 1,
      writeKey: 1,
      secretKeyHash: 1,
      ingestKeyHash: 1,
      statsKeys: 1,
      retiredKeys: 1,
    }).lean();
    const now = Date.now();
    let scope: CachedSite['scope'];
    let until: number | undefined;
    let found = false;
    if (doc && kind === 'write' && doc.writeKey === value) found = true;
    else if (doc && kind === 'secret' && (doc.secretKeyHash === value || doc.ingestKeyHash === value)) {
      found = true;
      scope = doc.secretKeyHash === value ? 'admin' : 'ingest';
    } else if (doc && kind === 'secret' && (doc.statsKeys ?? []).some((k) => k.hash === value)) {
      found = true;
      scope = 'stats';
    } else if (doc) {
      // a key replaced by a rotation with an overlap: accepted until its end, for sending events only (a leaked
      // old secret key must not rotate the keys again or delete the site during the overlap)
      const retired = (doc.retiredKeys ?? []).find(
        (k) => k.value === value && (kind === 'write') === (k.kind === 'write') && k.until.getTime() > now,
      );
      if (retired) {
        found = true;
        until = retired.until.getTime();
        if (kind === 'secret') scope = 'ingest';
      }
    }
    const site: CachedSite | null =
      doc && found
        ? {
            id: doc._id.toString(),
            name: doc.name,
            allowedOrigins: doc.allowedOrigins ?? [],
            consentMode: (doc.consentMode ?? 'single') as ConsentMode,
            urlParams: {
              mode: doc.urlParams?.mode === 'full' ? 'full' : 'allow',
              allow: doc.urlParams?.allow ?? [],
              deny: doc.urlParams?.deny ?? [],
            },
          }
        : null;
    if (site && scope) site.scope = scope;
    if (site && until !== undefined) site.retired = true;
    const ttl = site ? this.options.ttlMs : this.options.negativeTtlMs;
    this.store(cacheKey, { site, expires: Math.min(now + ttl, until ?? Number.POSITIVE_INFINITY), until });
    return site;
  }

  private store(cacheKey: string, entry: Entry): void {
    this.entries.delete(cacheKey); // re-inserted last: the Map's order is the age order
    if (this.entries.size >= this.options.maxEntries) this.evict();
    this.entries.set(cacheKey, entry);
  }

  /** Drops expired entries; when none had expired, the oldest tenth. */
  private evict(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
    if (this.entries.size < this.options.maxEntries) return;
    let drop = Math.max(1, Math.floor(this.options.maxEntries / 10));
    for (const key of this.entries.keys()) {
      if (drop-- <= 0) break;
      this.entries.delete(key);
    }
  }
}
