import type { Tracker, UrlParams } from '../types.js';

/** Query parameters every URL keeps: campaign tags and ad click ids (the collector's allow-list too). */
const KEPT = /^(utm_.*|gclid|fbclid|msclkid|ref|source)$/;
/** Names that look secret or personal: dropped even from full URLs unless allowed by name. */
const SECRET = /pass|pwd|token|secret|auth|key|code|session|sid|mail|phone|tel|card|cvv|ssn|otp|sig/i;

/**
 * A URL as the SDK sends it (page_view url and referrer, active_site url): its path and only the query
 * parameters allowed (`utm_*`, `gclid`, `fbclid`, `msclkid`, `ref`, `source` and `allow`; with `full`, all but
 * `deny` and secret-looking names), the fragment dropped unless `keepHash`, cut to the collector's 2,048
 * characters. A form sent with GET puts what was typed in the query: none of it leaves the page. Not a URL
 * (`about:blank`, empty): sent as it is, cut.
 */
export const cleanUrl = (href: string, keepHash?: boolean, { allow = [], deny = [], full }: UrlParams = {}): string => {
  try {
    const u = new URL(href);
    const q = u.searchParams;
    if (!keepHash) u.hash = '';
    for (const k of [...q.keys()]) {
      const n = k.toLowerCase();
      if (deny.includes(n) || !(KEPT.test(n) || allow.includes(n) || (full && !SECRET.test(n)))) q.delete(k);
    }
    href = u.href;
  } catch {}
  return href.slice(0, 2048);
};

/** `href` cleaned as `t`'s options say (`keepHash`, or page-view's `{ hash: true }`; `urlParams`). */
export const urlOf = (t: Tracker, href: string): string => cleanUrl(href, t.keepHash, t.options.urlParams);
