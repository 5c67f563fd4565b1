/** Formatting shared by pages: dates in UTC (what the collector's days are), numbers and money. */
export const DAY_MS = 86_400_000;

export const today = () => new Date().toISOString().slice(0, 10);

export function daysAgo(n: number, from = today()): string {
  return new Date(Date.parse(`${from}T00:00:00Z`) - n * DAY_MS).toISOString().slice(0, 10);
}

/** Every day from `from` to `to` inclusive (YYYY-MM-DD, UTC). */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

export const isDay = (s: unknown): s is string => {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
};

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export const number = (n: number) => new Intl.NumberFormat('en').format(n);
export const money = (n: number) =>
  new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n);
export const percent = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)} %`);

/** First string query parameter (Next gives string | string[] | undefined). */
export function param(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The Overview's range from `?from=&to=` (UTC days): default the last 30 days, at most 366, never reversed. */
export function dayRange(sp: Record<string, string | string[] | undefined>): {
  from: string;
  to: string;
  error?: string;
} {
  const to = isDay(param(sp.to)) ? param(sp.to)! : today();
  const from = isDay(param(sp.from)) ? param(sp.from)! : daysAgo(29, to);
  if (from > to) return { from: daysAgo(29, to), to, error: 'The start day was after the end day; showing 30 days.' };
  if (Date.parse(to) - Date.parse(from) > 365 * DAY_MS) {
    return { from: daysAgo(365, to), to, error: 'At most 366 days at once.' };
  }
  return { from, to };
}

/** How a person is named in the console: e-mail, else the shop's user id, else the profile id. */
export const personLabel = (p: { id: string; email?: string; userId?: string }) =>
  p.email ?? (p.userId ? `user ${p.userId}` : p.id);
