import type { Delivery } from '@trackmate/schema';
import type { ReactNode } from 'react';
import { dateTime } from '../lib/format';
import { DataTable } from './data-table';

/** Delivery attempts, newest first; `actions` renders a cell per row (e.g. a retry button). */
export function DeliveryTable<D extends Delivery>({
  deliveries,
  actions,
  showTarget = true,
}: {
  deliveries: D[];
  actions?: (d: D) => ReactNode;
  /** Off where every row goes to the same place (one webhook endpoint). */
  showTarget?: boolean;
}) {
  return (
    <DataTable
      stack
      rows={deliveries}
      rowKey={(d) => d.id}
      rowData={(d) => ({ 'data-status': d.status })}
      columns={[
        { header: 'When', style: { whiteSpace: 'nowrap' }, cell: (d) => dateTime(d.at) },
        { header: 'Status', cell: (d) => <span className={`badge ${d.status}`}>{d.status}</span> },
        { header: 'Attempt', cellClassName: 'num', cell: (d) => d.attempt },
        showTarget && { header: 'To', cellClassName: 'break', cell: (d) => d.target },
        {
          header: 'Answer',
          cellClassName: 'break',
          cell: (d) => (
            <>
              {d.responseCode ?? ''} {d.error ?? (d.latencyMs !== null ? `${d.latencyMs} ms` : '')}
            </>
          ),
        },
        actions && { header: 'Action', cell: actions },
      ]}
    />
  );
}
