import type { StatsAggregate, StatsBreakdown, StatsTimeseries } from '@trackmate/schema';
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { StatsDashboard } from '@/components/stats-dashboard';
import { ApiError, callCollector } from '@/lib/collector';
import { filtersParam, overviewState, PANELS } from '@/lib/overview-state';

export const metadata: Metadata = { title: 'Shared dashboard', robots: { index: false } };

/**
 * A share link's page: the dashboard's aggregate figures, read with the link's read-only stats key (it reads
 * /api/stats only: never profiles, events or e-mail addresses). A revoked or unknown key is a 404.
 */
export default async function SharedPage({
  params,
  searchParams,
}: {
  params: Promise<{ key: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { key } = await params;
  if (!/^sk_[A-Za-z0-9_-]{32,86}$/.test(key)) notFound();
  const state = overviewState(await searchParams);
  const q = new URLSearchParams({ from: state.from, to: state.to });
  const f = filtersParam(state.filters);
  if (f) q.set('filters', f);
  const get = <T,>(path: string) => callCollector<T>(key, 'GET', path);
  try {
    const [agg, series, ...panels] = await Promise.all([
      get<StatsAggregate>(`/api/stats/aggregate?${q}&compare=previous`),
      get<StatsTimeseries>(`/api/stats/timeseries?${q}`),
      ...PANELS.map((p) => get<StatsBreakdown>(`/api/stats/breakdown?${q}&dimension=${state.tabs[p.id]}`)),
    ]);
    return (
      <main className="shared">
        <h1>Shared dashboard</h1>
        <p className="muted">
          {state.from} to {state.to} ({agg.timezone} days). Read-only: aggregate figures only.
        </p>
        <StatsDashboard
          state={state}
          agg={agg}
          series={series}
          panels={panels}
          base={`/share/${encodeURIComponent(key)}`}
        />
      </main>
    );
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) notFound();
    throw err;
  }
}
