import { URL_PARAMS_KEPT, type UrlParams } from '@trackmate/schema';
import type { QueuedEvent } from '../pipeline/index.js';

export type { UrlParams };

/** A site without rules: the allow-list alone. */
export const DEFAULT_URL_PARAMS: UrlParams = { mode: 'allow', allow: [], deny: [] };

const KEPT_NAMES = new Set<string>(URL_PARAMS_KEPT.filter((n) => !n.endsWith('*')));
const KEPT_PREFIXES = URL_PARAMS_KEPT.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1));
/** Names that look secret or personal: dropped in `full` mode too (the browser SDK uses the same words). */
const SECRET = /pass|pwd|token|secret|auth|key|code|session|sid|mail|phone|tel|card|cvv|ssn|otp|sig/i;

/** Whether a query parameter stays in a stored URL under `rules`. */
export function keepsParam(name: string, rules: UrlParams): boolean {
  const n = name.toLowerCase();
  if (rules.deny.includes(n)) return false;
  if (rules.allow.includes(n) || KEPT_NAMES.has(n) || KEPT_PREFIXES.some((p) => n.startsWith(p))) return true;
  return rules.mode === 'full' && !SECRET.test(n);
}

/** `a=1&b=2` without the parameters `rules` drop (order and encoding of the rest as sent). */
function filterQuery(query: string, rules: UrlParams): string {
  return query
    .split('&')
    .filter((pair) => {
      if (!pair) return false;
      const raw = pair.split('=', 1)[0]!;
      let name = raw;
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judged as written
      }
      return keepsParam(name, rules);
    })
    .join('&');
}

/**
 * A URL as the collector stores it: its query keeps only the parameters `rules` allow; so does a fragment that
 * holds parameters (`#/route?x=1`, `#access_token=…`). Anything else (no query, not a URL) is returned as it is.
 * Works on the text, so what is kept is byte for byte what was sent.
 */
export function cleanUrl(href: string, rules: UrlParams): string {
  const q = href.indexOf('?');
  const h = href.indexOf('#');
  if (q < 0 && h < 0) return href;
  let base = href;
  let fragment = '';
  if (h >= 0) {
    base = href.slice(0, h);
    fragment = cleanFragment(href.slice(h + 1), rules);
  }
  const at = base.indexOf('?');
  if (at >= 0) {
    const query = filterQuery(base.slice(at + 1), rules);
    base = query ? `${base.slice(0, at)}?${query}` : base.slice(0, at);
  }
  return h >= 0 ? `${base}#${fragment}` : base;
}

function cleanFragment(fragment: string, rules: UrlParams): string {
  const q = fragment.indexOf('?');
  if (q >= 0) {
    const query = filterQuery(fragment.slice(q + 1), rules);
    return query ? `${fragment.slice(0, q)}?${query}` : fragment.slice(0, q);
  }
  return fragment.includes('=') ? filterQuery(fragment, rules) : fragment;
}

/** A `search` string (`?a=1&b=2`, as Segment's `context.page.search` holds it). */
function cleanSearch(search: string, rules: UrlParams): string {
  const query = filterQuery(search.startsWith('?') ? search.slice(1) : search, rules);
  return query ? `?${query}` : '';
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Cleans `o[field]` in place when it is a string. */
function clean(o: Record<string, unknown>, field: string, rules: UrlParams, search = false): void {
  const v = o[field];
  if (typeof v === 'string' && (v.includes('?') || v.includes('#') || (search && v.includes('=')))) {
    o[field] = search ? cleanSearch(v, rules) : cleanUrl(v, rules);
  }
}

/**
 * The URLs of browser events (native or Segment), cleaned in place before they are queued: `url`, `referrer`
 * and `search` in the properties and in `context.page`. Whatever sent them (an older SDK, analytics.js, a
 * hand-written request), nothing the site's rules drop is stored.
 */
export function cleanEventUrls(events: QueuedEvent[], rules: UrlParams): void {
  for (const e of events) {
    const props = e.properties as Record<string, unknown> | undefined;
    if (isObject(props)) {
      clean(props, 'url', rules);
      clean(props, 'referrer', rules);
      clean(props, 'search', rules, true);
    }
    const page = isObject(e.context) ? e.context.page : undefined;
    if (isObject(page)) {
      clean(page, 'url', rules);
      clean(page, 'referrer', rules);
      clean(page, 'search', rules, true);
    }
  }
}
