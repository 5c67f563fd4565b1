import type { Metadata } from 'next';
import { ActionForm } from '@/components/action-form';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { getDeadLetters } from '@/lib/data';
import { dateTime } from '@/lib/format';
import { replay } from './actions';

export const metadata: Metadata = { title: 'Dead letters' };

export default async function DeadLettersPage() {
  const { deadLetters } = await getDeadLetters(100);
  return (
    <>
      <h1>Dead letters</h1>
      <p className="muted">
        Events, webhook deliveries and campaign actions that failed after every retry are kept here with the reason,
        never dropped. Fix the cause, then replay: events are still stored once.
      </p>
      {deadLetters.length ? (
        <DataTable
          panel
          rows={deadLetters}
          rowKey={(d) => d.id}
          columns={[
            { header: 'Failed', style: { whiteSpace: 'nowrap' }, cell: (d) => dateTime(d.failedAt) },
            { header: 'Queue', cell: (d) => d.queue },
            {
              header: 'Reason',
              cellClassName: 'break',
              cell: (d) => (
                <details>
                  <summary>
                    {d.reason} <span className="muted">({d.attempts} attempts)</span>
                  </summary>
                  <pre>{JSON.stringify(d.payload, null, 2)}</pre>
                </details>
              ),
            },
            {
              header: 'Replay',
              cell: (d) => (
                <>
                  {d.replayedAt ? <p className="muted">replayed {dateTime(d.replayedAt)}</p> : null}
                  <ActionForm action={replay} submit={d.replayedAt ? 'Replay again' : 'Replay'} pending="…">
                    <input type="hidden" name="id" value={d.id} />
                  </ActionForm>
                </>
              ),
            },
          ]}
        />
      ) : (
        <EmptyState title="Nothing failed">
          <p>
            No dead letters for this site. On the collector’s machine,{' '}
            <code>trackmate-collector dead-letters list</code> shows those of every site.
          </p>
        </EmptyState>
      )}
    </>
  );
}
