import type { StatsAggregate, StatsBreakdown, StatsFigures, StatsTimeseries } from '@trackmate/schema';
import Link from 'next/link';
import { Fragment, type ReactNode } from 'react';
import { DayChart } from '@/components/day-chart';
import { StatsPanel } from '@/components/stats-panel';
import { money, number, percent } from '@/lib/format';
import { METRICS, type Metric, type OverviewState, overviewHref, PANELS } from '@/lib/overview-state';

const duration = (s: number | null) => (s === null ? '—' : s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`);

/** A figure as its card shows it. */
function shown(metric: Metric, f: StatsFigures): string {
  switch (metric) {
    case 'bounceRate':
      return percent(f.bounceRate);
    case 'visitDuration':
      return duration(f.visitDuration);
    case 'viewsPerVisit':
      return f.viewsPerVisit === null ? '—' : f.viewsPerVisit.toFixed(2);
    case 'revenue': {
      const parts = Object.entries(f.revenueByCurrency).map(([c, n]) => `${c} ${money(n)}`);
      if (f.revenue || !parts.length) parts.unshift(money(f.revenue));
      return parts.join(' · ');
    }
    default:
      return number(f[metric]);
  }
}

/** The value a metric charts and compares (revenue: every currency's sum, only for the change arrow). */
function figureOf(metric: Metric, f: StatsFigures): number | null {
  if (metric === 'revenue') return f.revenue + Object.values(f.revenueByCurrency).reduce((a, b) => a + b, 0);
  return f[metric];
}

function change(metric: Metric, now: StatsFigures, before: StatsFigures | undefined): string | null {
  if (!before) return null;
  const a = figureOf(metric, now);
  const b = figureOf(metric, before);
  if (a === null || b === null || b === 0) return a && !b ? 'new' : null;
  const pct = Math.round(((a - b) / b) * 100);
  return `${pct > 0 ? '↑' : pct < 0 ? '↓' : ''}${Math.abs(pct)} %`;
}

/**
 * Cards with their change against the previous period (each a link to its chart), the chart, and the breakdown
 * panels: the overview's figures, on the signed-in overview and on a share link's page (`base`).
 */
export function StatsDashboard({
  state,
  agg,
  series,
  panels,
  base = '/',
  besideSources,
}: {
  state: OverviewState;
  agg: StatsAggregate;
  series: StatsTimeseries;
  panels: StatsBreakdown[];
  base?: string;
  /** Shown right after the sources panel (the signed-in overview's revenue by source). */
  besideSources?: ReactNode;
}) {
  const metricLabel = METRICS.find((m) => m.id === state.metric)!.label;
  const chartValues = series.days.map((d) => figureOf(state.metric, d) ?? 0);
  return (
    <>
      <nav className="cards" aria-label="Figures">
        {METRICS.map((m) => {
          const c = change(m.id, agg.results, agg.previous?.results);
          return (
            <Link
              key={m.id}
              href={overviewHref(state, { metric: m.id }, base)}
              className="card"
              data-metric={m.id}
              aria-current={m.id === state.metric ? 'true' : undefined}
            >
              <span className="label">{m.label}</span>
              <span className="value">{shown(m.id, agg.results)}</span>
              {c ? <span className="change">{c} vs previous period</span> : null}
            </Link>
          );
        })}
      </nav>

      <div className="grid charts">
        <DayChart
          title={metricLabel}
          days={series.days.map((d) => d.day)}
          unit={state.metric === 'revenue' ? 'money' : 'count'}
          series={[{ label: metricLabel, values: chartValues, color: '#2446c7' }]}
        />
      </div>

      <div className="grid">
        {PANELS.map((p, i) => (
          <Fragment key={p.id}>
            <StatsPanel panel={p} state={state} rows={panels[i]!} base={base} />
            {i === 0 ? besideSources : null}
          </Fragment>
        ))}
      </div>
      <p className="hint">Bots are left out of every figure ({number(agg.bots.visits)} bot visits in these days).</p>
    </>
  );
}
