import type { Metadata } from 'next';
import Link from 'next/link';
import { DayChart } from '@/components/day-chart';
import { GettingStarted } from '@/components/snippet';
import { api } from '@/lib/collector';
import { dayRange, daysAgo, daysBetween, money, number, percent, today } from '@/lib/format';
import type { EventPage, Funnel, Metrics, Site, TopPages } from '@/lib/types';

export const metadata: Metadata = { title: 'Overview' };

const PRESETS = [7, 30, 90];

export default async function OverviewPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { from, to, error } = dayRange(await searchParams);
  const q = `from=${from}&to=${to}`;
  const [site, metrics, funnel, top, latest] = await Promise.all([
    api<Site>('GET', '/api/site'),
    api<Metrics>('GET', `/api/metrics?${q}`),
    api<Funnel>('GET', `/api/metrics/funnel?${q}`),
    api<TopPages>('GET', `/api/metrics/top-pages?${q}`),
    api<EventPage>('GET', '/api/events?limit=1'),
  ]);
  const days = daysBetween(from, to);
  const perDay = (name: string | null, field: 'count' | 'visitors' | 'orders' | 'revenue') =>
    days.map((day) =>
      metrics.events
        .filter((e) => name === null || e.name === name)
        .reduce((n, e) => n + (e.days.find((d) => d.day === day)?.[field] ?? 0), 0),
    );
  const visitors = perDay('page_view', 'visitors');
  const views = perDay('page_view', 'count');
  const orders = perDay(null, 'orders');
  const revenue = perDay(null, 'revenue').map((n) => Math.round(n * 100) / 100);
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
          <div className="value">{money(sum(revenue))}</div>
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
          series={[{ label: 'Revenue', values: revenue, color: '#1d6b3a' }]}
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
