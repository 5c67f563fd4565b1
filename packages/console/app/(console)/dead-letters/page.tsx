import type { Metadata } from 'next';
import { ActionForm } from '@/components/action-form';
import { api } from '@/lib/collector';
import { dateTime } from '@/lib/format';
import type { DeadLetter } from '@/lib/types';
import { replay } from './actions';

export const metadata: Metadata = { title: 'Dead letters' };

export default async function DeadLettersPage() {
  const { deadLetters } = await api<{ deadLetters: DeadLetter[] }>('GET', '/api/dead-letters?limit=100');
  return (
    <>
      <h1>Dead letters</h1>
      <p className="muted">
        Events, webhook deliveries and campaign actions that failed after every retry are kept here with the reason,
        never dropped. Fix the cause, then replay: events are still stored once.
      </p>
      {deadLetters.length ? (
        <div className="panel table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Failed</th>
                <th scope="col">Queue</th>
                <th scope="col">Reason</th>
                <th scope="col">Replay</th>
              </tr>
            </thead>
            <tbody>
              {deadLetters.map((d) => (
                <tr key={d.id}>
                  <td style={{ whiteSpace: 'nowrap' }}>{dateTime(d.failedAt)}</td>
                  <td>{d.queue}</td>
                  <td className="break">
                    <details>
                      <summary>
                        {d.reason} <span className="muted">({d.attempts} attempts)</span>
                      </summary>
                      <pre>{JSON.stringify(d.payload, null, 2)}</pre>
                    </details>
                  </td>
                  <td>
                    {d.replayedAt ? <p className="muted">replayed {dateTime(d.replayedAt)}</p> : null}
                    <ActionForm action={replay} submit={d.replayedAt ? 'Replay again' : 'Replay'} pending="…">
                      <input type="hidden" name="id" value={d.id} />
                    </ActionForm>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty">
          <h2 style={{ marginTop: 0 }}>Nothing failed</h2>
          <p>
            No dead letters for this site. On the collector’s machine,{' '}
            <code>trackmate-collector dead-letters list</code> shows those of every site.
          </p>
        </div>
      )}
    </>
  );
}
