import Link from 'next/link';
import { dateTime } from '../lib/format';
import type { StoredEvent } from '../lib/types';

function summary(e: StoredEvent): string {
  const p = e.properties as Record<string, unknown>;
  for (const k of ['url', 'orderId', 'productId', 'email', 'formId', 'elementId']) {
    if (typeof p[k] === 'string' || typeof p[k] === 'number') return `${k}: ${p[k]}`;
  }
  return '';
}

/** Events as a table; each row opens to its stored JSON. */
export function EventList({ events, showProfile = true }: { events: StoredEvent[]; showProfile?: boolean }) {
  return (
    <div className="table-wrap">
      <table className="stack">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            <th scope="col" className="hide-narrow">
              Visitor
            </th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-event={e.name}>
              <td style={{ whiteSpace: 'nowrap' }}>{dateTime(e.timestamp)}</td>
              <td>
                <span className="badge">{e.name}</span>
              </td>
              <td className="hide-narrow break">
                {showProfile && e.profileId ? (
                  <Link href={`/profiles/${e.profileId}`}>profile</Link>
                ) : (
                  (e.anonymousId ?? '—')
                )}
              </td>
              <td className="break">
                <details>
                  <summary>{summary(e) || 'JSON'}</summary>
                  <pre>{JSON.stringify(e, null, 2)}</pre>
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
