import type { DayMetrics, Metrics } from '@trackmate/schema';
import type { Metadata } from 'next';
import Link from 'next/link';
import { DayChart } from '@/components/day-chart';
import { GettingStarted } from '@/components/snippet';
import { getEvents, getFunnel, getMetrics, getSite, getTopPages } from '@/lib/data';
import { dayRange, daysAgo, daysBetween, money, number, percent, today } from '@/lib/format';

export const metadata: Metadata = { title: 'Overview' };

const PRESETS = [7, 30, 90];
const COLORS = ['#1d6b3a', '#b05a00', '#2446c7', '#8a4baf'];

/**
 * Revenue per day, one series per currency (amounts in two currencies are never added), plus orders that name
 * none; just the latter when there is no order at all.
 */
function revenueSeries(metrics: Metrics, days: string[]): Array<{ code: string | null; values: number[] }> {
  const round = (n: number) => Math.round(n * 100) / 100;
  const at = (day: string, pick: (d: DayMetrics) => number) =>
    round(metrics.events.reduce((n, e) => n + pick(e.days.find((d) => d.day === day) ?? EMPTY_DAY), 0));
  const codes = [
    ...new Set(metrics.events.flatMap((e) => e.days.flatMap((d) => Object.keys(d.revenueByCurrency ?? {})))),
  ].sort();
  const plain = days.map((day) => at(day, (d) => d.revenue));
  const series: Array<{ code: string | null; values: number[] }> = codes.map((code) => ({
    code,
    values: days.map((day) => at(day, (d) => d.revenueByCurrency?.[code] ?? 0)),
  }));
  if (!codes.length || plain.some((n) => n !== 0)) series.unshift({ code: null, values: plain });
  return series;
}

const EMPTY_DAY: DayMetrics = { day: '', count: 0, visitors: 0, orders: 0, revenue: 0, revenueByCurrency: {} };

export default async function OverviewPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { from, to, error } = dayRange(await searchParams);
  const [site, metrics, funnel, top, latest] = await Promise.all([
    getSite(),
    getMetrics(from, to),
    getFunnel(from, to),
    getTopPages(from, to),
    getEvents(1),
  ]);
  const days = daysBetween(from, to);
  const perDay = (name: string | null, field: 'count' | 'visitors' | 'orders') =>
    days.map((day) =>
      metrics.events
        .filter((e) => name === null || e.name === name)
        .reduce((n, e) => n + (e.days.find((d) => d.day === day)?.[field] ?? 0), 0),
    );
  const visitors = perDay('page_view', 'visitors');
  const views = perDay('page_view', 'count');
  const orders = perDay(null, 'orders');
  const revenue = revenueSeries(metrics, days);
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const first = funnel.steps[0]?.visitorDays ?? 0;

  return (
    <>
      <h1>Overview</h1>
      <form className="panel row" method="get" aria-label="Date range">
        <div>
          <label htmlFor="from">From</label>
          <input id="from" name="from" type="date" defaultValue={from} max={today()} />
        </div>
        <div>
          <label htmlFor="to">To</label>
          <input id="to" name="to" type="date" defaultValue={to} max={today()} />
        </div>
        <button type="submit">Show</button>
        <span className="muted">
          Last{' '}
          {PRESETS.map((n, i) => (
            <span key={n}>
              {i ? ', ' : ''}
              <Link href={`/?from=${daysAgo(n - 1)}&to=${today()}`}>{n} days</Link>
            </span>
          ))}{' '}
          (UTC days)
        </span>
      </form>
      {error ? <p className="error">{error}</p> : null}

      {latest.events.length === 0 ? (
        <section className="empty" aria-labelledby="start">
          <h2 id="start">No events yet — start tracking</h2>
          <GettingStarted writeKey={site.writeKey} />
        </section>
      ) : null}

      <div className="cards">
        <div className="card">
          <div className="label">Visitors (sum of daily)</div>
          <div className="value">{number(sum(visitors))}</div>
        </div>
        <div className="card">
          <div className="label">Page views</div>
          <div className="value">{number(sum(views))}</div>
        </div>
        <div className="card">
          <div className="label">Orders</div>
          <div className="value">{number(sum(orders))}</div>
        </div>
        <div className="card">
          <div className="label">Revenue</div>
          <div className="value">
            {revenue.map((r) => `${r.code ? `${r.code} ` : ''}${money(sum(r.values))}`).join(' · ')}
          </div>
        </div>
      </div>

      <div className="grid charts">
        <DayChart title="Visitors" days={days} series={[{ label: 'Visitors', values: visitors, color: '#2446c7' }]} />
        <DayChart title="Page views" days={days} series={[{ label: 'Page views', values: views, color: '#0e7c86' }]} />
        <DayChart title="Orders" days={days} series={[{ label: 'Orders', values: orders, color: '#8a4baf' }]} />
        <DayChart
          title="Revenue"
          days={days}
          unit="money"
          series={revenue.map((r, i) => ({
            label: r.code ? `Revenue ${r.code}` : 'Revenue',
            values: r.values,
            color: COLORS[i % COLORS.length]!,
          }))}
        />
      </div>

      <div className="grid">
        <section className="panel" aria-labelledby="funnel">
          <h2 id="funnel" style={{ marginTop: 0 }}>
            Funnel
          </h2>
          <ol className="funnel">
            {funnel.steps.map((s) => (
              <li key={s.name}>
                <div className="row" style={{ justifyContent: 'space-between' }}>
                  <strong>{s.name}</strong>
                  <span>
                    {number(s.visitorDays)} visitor-days · {number(s.count)} events
                    {s.conversionFromPrevious !== null
                      ? ` · ${percent(s.conversionFromPrevious)} of the step before`
                      : ''}
                  </span>
                </div>
                <div className="meter" aria-hidden="true">
                  <span style={{ width: `${first ? Math.min(100, (s.visitorDays / first) * 100) : 0}%` }} />
                </div>
              </li>
            ))}
          </ol>
          <p className="hint">
            From the daily roll-ups: a visitor counts once per day per step; steps are not matched per visitor.
          </p>
        </section>
        <section className="panel" aria-labelledby="top">
          <h2 id="top" style={{ marginTop: 0 }}>
            Top pages
          </h2>
          {top.pages.length ? (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Page</th>
                    <th scope="col" className="num">
                      Views
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {top.pages.map((p) => (
                    <tr key={p.url}>
                      <td className="break">{p.url}</td>
                      <td className="num">{number(p.views)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p className="muted">No page views in these days.</p>
          )}
        </section>
      </div>
    </>
  );
}
