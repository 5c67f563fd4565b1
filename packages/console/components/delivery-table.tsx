import type { ReactNode } from 'react';
import { dateTime } from '../lib/format';
import type { Delivery } from '../lib/types';

/** Delivery attempts, newest first; `actions` renders a cell per row (e.g. a retry button). */
export function DeliveryTable({
  deliveries,
  actions,
}: {
  deliveries: Delivery[];
  actions?: (d: Delivery) => ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table className="stack">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Status</th>
            <th scope="col">Attempt</th>
            <th scope="col">To</th>
            <th scope="col">Answer</th>
            {actions ? <th scope="col">Action</th> : null}
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr key={d.id} data-status={d.status}>
              <td style={{ whiteSpace: 'nowrap' }}>{dateTime(d.at)}</td>
              <td>
                <span className={`badge ${d.status}`}>{d.status}</span>
              </td>
              <td className="num">{d.attempt}</td>
              <td className="break">{d.target}</td>
              <td className="break">
                {d.responseCode ?? ''} {d.error ?? (d.latencyMs !== null ? `${d.latencyMs} ms` : '')}
              </td>
              {actions ? <td>{actions(d)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
