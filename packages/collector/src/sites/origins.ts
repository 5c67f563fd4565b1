/** `scheme://host[:port]` of an origin or URL, lower-cased; undefined when it is not one. */
export function normalizeOrigin(value: string): string | undefined {
  if (value === '*') return '*';
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true; // not a browser request (curl, servers); browsers always send Origin
  if (allowed.includes('*')) return true;
  const normalized = normalizeOrigin(origin);
  return normalized !== undefined && allowed.includes(normalized);
}
