import type { EventGeo } from '../models/index.js';
import type { GeoOf } from './accept.js';

/** Distinct client addresses remembered (each entry well under 200 bytes: at most ~2 MB). */
export const GEO_CACHE_SIZE = 10_000;

/**
 * `geo` answered from memory for an address seen lately: a browser sends many requests from one address, and the
 * database lookup (parsing the address, walking the tree) was ~2 % of the API's CPU under single-event load. The
 * answer for an address never changes while the process runs (the database is read once), so a cached one is the
 * same; each is frozen, as every request of that address shares it. Oldest address out first when full.
 */
export function cachedGeo(geo: GeoOf, size = GEO_CACHE_SIZE): GeoOf {
  const known = new Map<string, EventGeo | null>();
  return (ip) => {
    if (!ip) return geo(ip);
    const hit = known.get(ip);
    if (hit !== undefined) return hit;
    const found = geo(ip);
    const answer = found && Object.freeze(found);
    if (known.size >= size) known.delete(known.keys().next().value!);
    known.set(ip, answer);
    return answer;
  };
}
