import { isbot } from 'isbot';
import UAParser from 'ua-parser-js';
import type { EventDevice } from '../models/index.js';

export interface ParsedAgent {
  device: EventDevice;
  bot: boolean;
}

const UNKNOWN: ParsedAgent = { device: { browser: null, browserVersion: null, os: null, type: 'desktop' }, bot: false };
/** A site sees a few thousand distinct user agents a day; parsing one costs ~25 µs, a hit ~0.1 µs. */
const MAX_CACHED = 5_000;
const cache = new Map<string, ParsedAgent>();

/**
 * Browser, major version, OS and device type by ua-parser-js 1.x (MIT; 2.x is AGPL and not used); bots by
 * isbot's pattern list (Unlicense). No user agent at all (a server event) is no bot and an unknown desktop.
 */
export function parseAgent(ua: string | null | undefined): ParsedAgent {
  if (!ua) return UNKNOWN;
  const hit = cache.get(ua);
  if (hit) return hit;
  const r = new UAParser(ua).getResult();
  const t = r.device.type;
  const parsed: ParsedAgent = {
    device: {
      browser: r.browser.name ?? null,
      browserVersion: r.browser.major ?? null,
      os: r.os.name ?? null,
      type: t === 'mobile' ? 'mobile' : t === 'tablet' ? 'tablet' : t === undefined ? 'desktop' : 'other',
    },
    bot: isbot(ua),
  };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(ua, parsed);
  return parsed;
}
