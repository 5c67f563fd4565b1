import type { Metadata } from 'next';
import Link from 'next/link';
import { RevenuePanel } from '@/components/revenue-panel';
import { GettingStarted } from '@/components/snippet';
import { StatsDashboard } from '@/components/stats-dashboard';
import {
  getAttribution,
  getEvents,
  getSite,
  getStatsAggregate,
  getStatsBreakdown,
  getStatsRealtime,
  getStatsTimeseries,
} from '@/lib/data';
import { daysAgo, number, today } from '@/lib/format';
import { DIMENSION_NAMES, filtersParam, overviewHref, overviewState, PANELS } from '@/lib/overview-state';

export const metadata: Metadata = { title: 'Overview' };

const PRESETS = [7, 30, 90];
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
  const [attribution, site, agg, series, now, latest, ...panels] = await Promise.all([
    getAttribution(state.from, state.to),
    getSite(),
    getStatsAggregate(view),
    getStatsTimeseries(view),
    getStatsRealtime(),
    getEvents(1),
    ...PANELS.map((p) => getStatsBreakdown(view, state.tabs[p.id]!)),
  ]);

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

      <StatsDashboard
        state={state}
        agg={agg}
        series={series}
        panels={panels}
        besideSources={<RevenuePanel attribution={attribution} />}
      />
    </>
  );
}
