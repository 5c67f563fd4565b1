import type { AttributionResult, AttributionRow } from '@trackmate/schema';
import { EmptyState } from '@/components/empty-state';
import { money, number } from '@/lib/format';
import { DataTable } from './data-table';

const amounts = (byCurrency: Record<string, number>) =>
  Object.entries(byCurrency)
    .map(([c, v]) => `${money(v)}${c === '(none)' ? '' : ` ${c}`}`)
    .join(' · ');

function Rows({ rows, label }: { rows: AttributionRow[]; label: string }) {
  return (
    <DataTable
      rows={rows.slice(0, 8)}
      rowKey={(r) => r.value}
      rowData={(r) => ({ [`data-${label}`]: r.value })}
      stack
      columns={[
        { header: 'Source', className: 'break', cell: (r) => r.value },
        { header: 'Orders', className: 'num', cell: (r) => number(r.orders) },
        { header: 'Revenue', className: 'num', cell: (r) => amounts(r.revenueByCurrency) },
      ]}
    />
  );
}

/**
 * Revenue by the source that brought the buyer: every order credited to the buyer's first touch and to their
 * last non-direct touch within the site's lookback (docs/analytics.md, Revenue attribution).
 */
export function RevenuePanel({ attribution }: { attribution: AttributionResult }) {
  const t = attribution.totals;
  return (
    <section className="panel" aria-labelledby="panel-revenue" data-panel="revenue">
      <h2 id="panel-revenue" style={{ margin: 0 }}>
        Revenue by source
      </h2>
      {t.orders ? (
        <>
          <p className="muted">
            {number(t.orders)} orders from {number(t.buyers)} buyers ({number(t.newCustomers)} new,{' '}
            {number(t.returningCustomers)} returning); average order {amounts(t.aovByCurrency)}; lookback{' '}
            {attribution.lookbackDays} days.
          </p>
          <h3>First touch</h3>
          <Rows rows={attribution.firstTouch} label="first" />
          <h3>Last non-direct touch</h3>
          <Rows rows={attribution.lastTouch} label="last" />
        </>
      ) : (
        <EmptyState title="No orders in these days" />
      )}
    </section>
  );
}
