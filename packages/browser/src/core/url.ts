/** Query parameters whose names look secret or personal: their values never leave the page. */
const SECRET = /pass|pwd|token|secret|auth|key|code|session|sid|mail|phone|tel|card|cvv|ssn|otp|sig/i;

/**
 * A URL as the SDK sends it (page_view url and referrer, context.page.url): values of secret or personal
 * query parameters replaced by `_` (campaign `utm_*` kept), the fragment dropped unless `keepHash`, cut to
 * the collector's 2,048 characters. Not a URL (`about:blank`, empty): sent as it is, cut.
 */
export const cleanUrl = (href: string, keepHash?: boolean): string => {
  try {
    const u = new URL(href);
    if (!keepHash) u.hash = '';
    for (const k of [...u.searchParams.keys()]) if (SECRET.test(k) && !/^utm_/i.test(k)) u.searchParams.set(k, '_');
    href = u.href;
  } catch {}
  return href.slice(0, 2048);
};
