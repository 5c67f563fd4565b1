import type { StatsBreakdown } from '@trackmate/schema';
import Link from 'next/link';
import { EmptyState } from '@/components/empty-state';
import { number, percent } from '@/lib/format';
import { filtersParam, type OverviewState, overviewHref, type PANELS, withFilter } from '@/lib/overview-state';
import { DataTable } from './data-table';

/**
 * One breakdown panel: its tabs (links, so the tab is in the URL), the top rows of the chosen dimension — each
 * row a link that filters the whole overview by its value — and a CSV export of the whole breakdown.
 */
export function StatsPanel({
  panel,
  state,
  rows,
  base = '/',
}: {
  panel: (typeof PANELS)[number];
  state: OverviewState;
  rows: StatsBreakdown;
  /** Where the panel's links lead (a share link's page has its own); the CSV export is for the signed-in console. */
  base?: string;
}) {
  const dim = state.tabs[panel.id]!;
  // rows of server events alone (an order with no visit in these days) have no visit to show here
  const shown = rows.rows.filter((r) => r.visits > 0 || r.pageviews > 0);
  const counted = dim === 'page' ? 'Views' : 'Visits';
  const csv = new URLSearchParams({ dimension: dim, from: state.from, to: state.to });
  const f = filtersParam(state.filters);
  if (f) csv.set('filters', f);
  return (
    <section className="panel" aria-labelledby={`panel-${panel.id}`} data-panel={panel.id}>
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h2 id={`panel-${panel.id}`} style={{ margin: 0 }}>
          {panel.title}
        </h2>
        {base === '/' ? (
          <a href={`/export?${csv.toString()}`} download={`${dim}.csv`}>
            CSV
          </a>
        ) : null}
      </div>
      <nav className="tabs" aria-label={`${panel.title}: show`}>
        {panel.tabs.map(([d, label]) => (
          <Link
            key={d}
            href={overviewHref(state, { tabs: { [panel.id]: d } }, base)}
            aria-current={d === dim ? 'page' : undefined}
          >
            {label}
          </Link>
        ))}
      </nav>
      {shown.length ? (
        <DataTable
          rows={shown}
          rowKey={(r) => r.value}
          rowData={(r) => ({ 'data-row': r.value })}
          columns={[
            {
              header: panel.tabs.find(([d]) => d === dim)![1],
              className: 'break',
              cell: (r) => (
                <Link
                  href={overviewHref(state, { filters: withFilter(state, dim, r.value) }, base)}
                  title="Filter by this"
                >
                  {r.value}
                </Link>
              ),
            },
            { header: 'Visitors', className: 'num', cell: (r) => number(r.visitors) },
            { header: counted, className: 'num', cell: (r) => number(dim === 'page' ? r.pageviews : r.visits) },
            dim !== 'page' && { header: 'Bounce', className: 'num hide-narrow', cell: (r) => percent(r.bounceRate) },
          ]}
        />
      ) : (
        <EmptyState title="Nothing in these days" />
      )}
    </section>
  );
}
