import type { FunnelResult, FunnelStepDefinition } from '@trackmate/schema';
import type { Metadata } from 'next';
import Link from 'next/link';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { FunnelChart } from '@/components/funnel-chart';
import { ApiError } from '@/lib/collector';
import { getPersonFunnel, getSavedFunnels } from '@/lib/data';
import { daysAgo, isDay, number, param, percent, today } from '@/lib/format';
import { duration, MAX_STEPS, stepsOfForm } from '@/lib/funnel-form';
import { deleteFunnel, saveFunnel } from './actions';

export const metadata: Metadata = { title: 'Funnels' };

const WINDOWS = ['1h', '1d', '7d', '14d', '30d', '90d'];
const BREAKDOWNS: Array<[string, string]> = [
  ['', 'None'],
  ['channel', 'Channel'],
  ['country', 'Country'],
  ['device', 'Device'],
];
const DEFAULT_STEPS = ['page_view', 'add_to_cart', 'order_placed'];

/**
 * Funnels per person: a builder (steps, window, order), the result as bars with conversion and drop-off, the
 * median time between steps and to convert, a breakdown; saved funnels answer from the worker's state.
 */
export default async function FunnelsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const sp = await searchParams;
  const get = (k: string) => param(sp[k]);
  const to = isDay(get('to')) ? get('to')! : today();
  const from = isDay(get('from')) ? get('from')! : daysAgo(29, to);
  const window = WINDOWS.includes(get('window') ?? '') ? get('window')! : '14d';
  const order = get('order') === 'strict' ? 'strict' : 'sequential';
  const breakdown = ['channel', 'country', 'device'].includes(get('breakdown') ?? '') ? get('breakdown') : undefined;
  const savedId = get('funnel');
  const built = stepsOfForm(get);
  const steps: FunnelStepDefinition[] = built.length ? built : DEFAULT_STEPS.map((event) => ({ event }));
  const { funnels } = await getSavedFunnels();
  const saved = savedId ? funnels.find((f) => f.id === savedId) : undefined;

  let result: FunnelResult | null = null;
  let error = get('error');
  if (savedId && !saved) error = 'No such saved funnel';
  else if (saved || built.length >= 2) {
    try {
      result = await getPersonFunnel({
        from,
        to,
        breakdown,
        ...(saved ? { funnel: saved.id } : { steps: JSON.stringify(built), window, order }),
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      error = err.message;
    }
  } else if (built.length === 1) error = 'A funnel has 2 to 8 steps';
  const shownSteps = saved ? saved.steps : steps;
  const rows = Math.min(MAX_STEPS, Math.max(3, shownSteps.length + 1));

  return (
    <>
      <h1>Funnels</h1>
      <form className="panel funnel-builder" method="get" aria-label="Funnel">
        <fieldset>
          <legend>Steps, in order</legend>
          {Array.from({ length: rows }, (_, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a step is its position in the funnel
            <div className="row" key={`step-${i + 1}`}>
              <div>
                <label htmlFor={`e${i + 1}`}>Step {i + 1} event</label>
                <input
                  id={`e${i + 1}`}
                  name={`e${i + 1}`}
                  defaultValue={shownSteps[i]?.event ?? ''}
                  placeholder="event name"
                />
              </div>
              <div>
                <label htmlFor={`p${i + 1}`}>Page path (optional)</label>
                <input
                  id={`p${i + 1}`}
                  name={`p${i + 1}`}
                  defaultValue={shownSteps[i]?.path ?? ''}
                  placeholder="/pricing"
                />
              </div>
            </div>
          ))}
        </fieldset>
        <div className="row">
          <div>
            <label htmlFor="window">Conversion window</label>
            <select id="window" name="window" defaultValue={saved?.window ?? window}>
              {WINDOWS.map((w) => (
                <option key={w} value={w}>
                  {w}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="order">Order</label>
            <select id="order" name="order" defaultValue={saved?.order ?? order}>
              <option value="sequential">In order, other activity allowed</option>
              <option value="strict">Strictly one after the other</option>
            </select>
          </div>
          <div>
            <label htmlFor="breakdown">Break down by</label>
            <select id="breakdown" name="breakdown" defaultValue={breakdown ?? ''}>
              {BREAKDOWNS.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="from">From</label>
            <input id="from" name="from" type="date" defaultValue={from} max={today()} />
          </div>
          <div>
            <label htmlFor="to">To</label>
            <input id="to" name="to" type="date" defaultValue={to} max={today()} />
          </div>
        </div>
        <div className="row">
          <button type="submit">Show funnel</button>
          <button type="submit" formAction={saveFunnel} formMethod="post" className="secondary">
            Save funnel
          </button>
          <div>
            <label htmlFor="name">Name to save it under</label>
            <input id="name" name="name" placeholder="Pricing to order" maxLength={200} />
          </div>
        </div>
      </form>
      {error ? <p className="error">{error}</p> : null}
      {get('saved') && saved ? (
        <p className="success" role="status">
          Saved. The worker keeps “{saved.name}” current
          {saved.status === 'building' ? '; it is still replaying the stored events' : ''}.
        </p>
      ) : null}

      {result ? (
        <section className="panel" aria-labelledby="result" data-funnel>
          <h2 id="result">{saved ? saved.name : 'Funnel'}</h2>
          <p className="muted">
            {number(result.steps[0]!.visitors)} people entered from {result.from} to {result.to} ({result.timezone});
            window {result.window}, {result.order === 'strict' ? 'strict order' : 'in order'};{' '}
            {result.computedFrom === 'saved' ? 'from the saved funnel' : 'scanned from the events'}.{' '}
            {result.notice ? <strong data-limited>{result.notice}</strong> : null}
          </p>
          <FunnelChart result={result} />
          <p>
            Converted: <strong data-conversion>{percent(result.conversionRate)}</strong>; median time to convert{' '}
            <strong data-time-to-convert>{duration(result.medianSecondsToConvert)}</strong>.
          </p>
          {result.breakdown ? (
            <>
              <h3>By {result.breakdown.dimension}</h3>
              <DataTable
                rows={result.breakdown.rows}
                rowKey={(r) => r.value}
                rowData={(r) => ({ 'data-breakdown': r.value })}
                columns={[
                  { header: result.breakdown.dimension, className: 'break', cell: (r) => r.value },
                  ...result.steps.map((s, k) => ({
                    header: `${k + 1}. ${s.event}`,
                    className: 'num',
                    cell: (r: { visitors: number[] }) => number(r.visitors[k] ?? 0),
                  })),
                  {
                    header: 'Converted',
                    className: 'num',
                    cell: (r: { visitors: number[] }) =>
                      percent(r.visitors[0] ? r.visitors[r.visitors.length - 1]! / r.visitors[0] : null),
                  },
                ]}
              />
            </>
          ) : null}
        </section>
      ) : null}

      <section className="panel" aria-labelledby="saved">
        <h2 id="saved">Saved funnels</h2>
        {funnels.length ? (
          <DataTable
            rows={funnels}
            rowKey={(f) => f.id}
            rowData={(f) => ({ 'data-saved': f.name })}
            columns={[
              {
                header: 'Name',
                className: 'break',
                cell: (f) => <Link href={`/funnels?funnel=${f.id}&from=${from}&to=${to}`}>{f.name}</Link>,
              },
              { header: 'Steps', className: 'hide-narrow', cell: (f) => f.steps.map((s) => s.event).join(' → ') },
              { header: 'Window', cell: (f) => f.window },
              { header: 'Status', cell: (f) => f.status },
              {
                header: 'Delete',
                cell: (f) => (
                  <form action={deleteFunnel}>
                    <input type="hidden" name="id" value={f.id} />
                    <button type="submit" className="secondary" aria-label={`Delete ${f.name}`}>
                      Delete
                    </button>
                  </form>
                ),
              },
            ]}
          />
        ) : (
          <EmptyState title="No saved funnels yet" />
        )}
      </section>
    </>
  );
}
