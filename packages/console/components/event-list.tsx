import type { StoredEvent } from '@trackmate/schema';
import Link from 'next/link';
import { dateTime } from '../lib/format';
import { DataTable } from './data-table';

function summary(e: StoredEvent): string {
  const p = e.properties;
  for (const k of ['url', 'orderId', 'productId', 'email', 'formId', 'elementId']) {
    if (typeof p[k] === 'string' || typeof p[k] === 'number') return `${k}: ${p[k]}`;
  }
  return '';
}

/** Events as a table; each row opens to its stored JSON. */
export function EventList({ events, showProfile = true }: { events: StoredEvent[]; showProfile?: boolean }) {
  return (
    <DataTable
      stack
      rows={events}
      rowKey={(e) => e.id}
      rowData={(e) => ({ 'data-event': e.name })}
      columns={[
        { header: 'Time', style: { whiteSpace: 'nowrap' }, cell: (e) => dateTime(e.timestamp) },
        { header: 'Event', cell: (e) => <span className="badge">{e.name}</span> },
        {
          header: 'Visitor',
          className: 'hide-narrow',
          cellClassName: 'hide-narrow break',
          cell: (e) =>
            showProfile && e.profileId ? (
              <Link href={`/profiles/${e.profileId}`}>profile</Link>
            ) : (
              (e.anonymousId ?? '—')
            ),
        },
        {
          header: 'Details',
          cellClassName: 'break',
          cell: (e) => (
            <details>
              <summary>{summary(e) || 'JSON'}</summary>
              <pre>{JSON.stringify(e, null, 2)}</pre>
            </details>
          ),
        },
      ]}
    />
  );
}
