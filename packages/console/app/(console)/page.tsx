import type { StatsFigures } from '@trackmate/schema';
import type { Metadata } from 'next';
import Link from 'next/link';
import { DayChart } from '@/components/day-chart';
import { GettingStarted } from '@/components/snippet';
import { StatsPanel } from '@/components/stats-panel';
import {
  getEvents,
  getSite,
  getStatsAggregate,
  getStatsBreakdown,
  getStatsRealtime,
  getStatsTimeseries,
} from '@/lib/data';
import { daysAgo, money, number, percent, today } from '@/lib/format';
import {
  DIMENSION_NAMES,
  filtersParam,
  METRICS,
  type Metric,
  overviewHref,
  overviewState,
  PANELS,
} from '@/lib/overview-state';

export const metadata: Metadata = { title: 'Overview' };

const PRESETS = [7, 30, 90];
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
 * The overview, in the manner of Plausible: top cards with their change against the previous period, a chart of
 * the chosen card, breakdown panels whose rows filter the whole page, visitors now. Everything is in the URL,
 * so a view can be shared; all of it comes from the collector's /api/stats routes.
 */
export default async function OverviewPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const state = overviewState(await searchParams);
  const view = { from: state.from, to: state.to, filters: filtersParam(state.filters) || undefined };
  const [site, agg, series, now, latest, ...panels] = await Promise.all([
    getSite(),
    getStatsAggregate(view),
    getStatsTimeseries(view),
    getStatsRealtime(),
    getEvents(1),
    ...PANELS.map((p) => getStatsBreakdown(view, state.tabs[p.id]!)),
  ]);
  const metricLabel = METRICS.find((m) => m.id === state.metric)!.label;
  const chartValues = series.days.map((d) => figureOf(state.metric, d) ?? 0);

  return (
    <>
      <h1>Overview</h1>
      <form className="panel row" method="get" aria-label="Date range">
        <div>
          <label htmlFor="from">From</label>
          <input id="from" name="from" type="date" defaultValue={state.from} max={today()} />
        </div>
        <div>
          <label htmlFor="to">To</label>
          <input id="to" name="to" type="date" defaultValue={state.to} max={today()} />
        </div>
        {view.filters ? <input type="hidden" name="filters" value={view.filters} /> : null}
        <button type="submit">Show</button>
        <span className="muted">
          Last{' '}
          {PRESETS.map((n, i) => (
            <span key={n}>
              {i ? ', ' : ''}
              <Link href={overviewHref(state, { from: daysAgo(n - 1), to: today() })}>{n} days</Link>
            </span>
          ))}{' '}
          ({agg.timezone} days)
        </span>
        <span className="live" data-realtime>
          <strong>{number(now.visitors)}</strong> {now.visitors === 1 ? 'visitor' : 'visitors'} now
        </span>
      </form>
      {state.error ? <p className="error">{state.error}</p> : null}

      {state.filters.length ? (
        <nav className="chips" aria-label="Filters">
          {state.filters.map((f) => (
            <Link
              key={`${f.dim}${f.op}${f.value}`}
              className="chip"
              data-filter={`${f.dim}${f.op}${f.value}`}
              href={overviewHref(state, { filters: state.filters.filter((x) => x !== f) })}
              aria-label={`Remove filter ${DIMENSION_NAMES[f.dim]} ${f.op === '==' ? 'is' : 'is not'} ${f.value}`}
            >
              {DIMENSION_NAMES[f.dim]} {f.op === '==' ? 'is' : 'is not'} <strong>{f.value}</strong> ×
            </Link>
          ))}
          <Link href={overviewHref(state, { filters: [] })}>Clear all</Link>
        </nav>
      ) : null}

      {latest.events.length === 0 ? (
        <section className="empty" aria-labelledby="start">
          <h2 id="start">No events yet — start tracking</h2>
          <GettingStarted writeKey={site.writeKey} />
        </section>
      ) : null}

      <nav className="cards" aria-label="Figures">
        {METRICS.map((m) => {
          const c = change(m.id, agg.results, agg.previous?.results);
          return (
            <Link
              key={m.id}
              href={overviewHref(state, { metric: m.id })}
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
          <StatsPanel key={p.id} panel={p} state={state} rows={panels[i]!} />
        ))}
      </div>
      <p className="hint">
        Bots are left out of every figure ({number(agg.bots.visits)} bot visits in these days). What each figure means:
        docs/analytics.md.
      </p>
    </>
  );
}
