import type { Tracker } from '../types.js';

/** Query parameters whose names look secret or personal: their values never leave the page. */
const SECRET = /pass|pwd|token|secret|auth|key|code|session|sid|mail|phone|tel|card|cvv|ssn|otp|sig/i;

/** Parameter names (case-insensitive) to clean besides the built-in ones (`deny`), or to send as they are. */
export interface UrlParams {
  /** Sent as they are although their names look secret (e.g. `['promo_code']`); `utm_*` always are. */
  allow?: string[];
  /** Always cleaned (e.g. `['customer', 'ref']`), `utm_*` too. */
  deny?: string[];
}

/**
 * A URL as the SDK sends it (page_view url and referrer, active_site url): values of secret or personal
 * query parameters replaced by `_` (campaign `utm_*` kept), the fragment dropped unless `keepHash`, cut to
 * the collector's 2,048 characters. Not a URL (`about:blank`, empty): sent as it is, cut.
 */
export const cleanUrl = (href: string, keepHash?: boolean, { allow = [], deny = [] }: UrlParams = {}): string => {
  try {
    const u = new URL(href);
    const q = u.searchParams;
    if (!keepHash) u.hash = '';
    for (const k of [...q.keys()]) {
      const n = k.toLowerCase();
      if (deny.includes(n) || (SECRET.test(k) && !/^utm_/.test(n) && !allow.includes(n))) q.set(k, '_');
    }
    href = u.href;
  } catch {}
  return href.slice(0, 2048);
};

/** `href` cleaned as `t`'s options say (`keepHash`, or page-view's `{ hash: true }`; `urlParams`). */
export const urlOf = (t: Tracker, href: string): string => cleanUrl(href, t.keepHash, t.options.urlParams);
