import type { StatsBreakdown } from '@trackmate/schema';
import { api } from '@/lib/collector';

const COLUMNS = [
  'visitors',
  'visits',
  'pageviews',
  'bounces',
  'totalDuration',
  'events',
  'orders',
  'revenue',
  'bounceRate',
  'visitDuration',
] as const;
const cell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // a value a spreadsheet would run as a formula is quoted as text
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** `GET /export?dimension=&from=&to=&filters=`: a breakdown panel's rows, all of them, as CSV. */
export async function GET(request: Request): Promise<Response> {
  const q = new URL(request.url).searchParams;
  const params = new URLSearchParams({ limit: '1000' });
  for (const k of ['dimension', 'from', 'to', 'filters']) {
    const v = q.get(k);
    if (v) params.set(k, v);
  }
  const rows = await api<StatsBreakdown>('GET', `/api/stats/breakdown?${params.toString()}`);
  const currencies = [...new Set(rows.rows.flatMap((r) => Object.keys(r.revenueByCurrency)))].sort();
  const lines = [
    [rows.dimension, ...COLUMNS, ...currencies.map((c) => `revenue ${c}`)].map(cell).join(','),
    ...rows.rows.map((r) =>
      [r.value, ...COLUMNS.map((c) => r[c]), ...currencies.map((c) => r.revenueByCurrency[c] ?? 0)].map(cell).join(','),
    ),
  ];
  return new Response(`${lines.join('\n')}\n`, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${rows.dimension}-${rows.from}-${rows.to}.csv"`,
    },
  });
}
