import type { ReactNode } from 'react';
import { dateTime } from '../lib/format';
import type { Delivery } from '../lib/types';

/** Delivery attempts, newest first; `actions` renders a cell per row (e.g. a retry button). */
export function DeliveryTable({
  deliveries,
  actions,
  showTarget = true,
}: {
  deliveries: Delivery[];
  actions?: (d: Delivery) => ReactNode;
  /** Off where every row goes to the same place (one webhook endpoint). */
  showTarget?: boolean;
}) {
  return (
    <div className="table-wrap">
      <table className="stack">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Status</th>
            <th scope="col">Attempt</th>
            {showTarget ? <th scope="col">To</th> : null}
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
              {showTarget ? <td className="break">{d.target}</td> : null}
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
