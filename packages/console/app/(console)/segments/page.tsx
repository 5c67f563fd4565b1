import type { Metadata } from 'next';
import Link from 'next/link';
import { AutoRefresh } from '@/components/auto-refresh';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { getSegments } from '@/lib/data';
import { dateTime, number } from '@/lib/format';
import { describeDefinition } from '@/lib/segment-form';

export const metadata: Metadata = { title: 'Segments' };

export default async function SegmentsPage() {
  const { segments } = await getSegments();
  return (
    <>
      <h1>Segments</h1>
      <div className="row">
        <Link className="button" href="/segments/new">
          New segment
        </Link>
        {segments.length ? <AutoRefresh seconds={5} /> : null}
      </div>
      {segments.length ? (
        <DataTable
          panel
          rows={segments}
          rowKey={(s) => s.id}
          rowData={(s) => ({ 'data-segment': s.name })}
          columns={[
            { header: 'Segment', cell: (s) => <Link href={`/segments/${s.id}`}>{s.name}</Link> },
            { header: 'Who', cellClassName: 'break', cell: (s) => describeDefinition(s.definition) },
            {
              header: 'Members',
              className: 'num',
              cell: (s) => (
                <>
                  <span data-count>{number(s.count)}</span>
                  {s.evaluating ? <span className="muted"> (counting…)</span> : null}
                </>
              ),
            },
            { header: 'Changed', className: 'hide-narrow', cell: (s) => dateTime(s.updatedAt) },
          ]}
        />
      ) : (
        <EmptyState title="No segments yet">
          <p>
            A segment is a live audience: people with a tag or e-mail consent, who did <code>add_to_cart</code> twice
            this week and not <code>order_placed</code>, or whose revenue passed 100 EUR. Members join and leave as
            their events arrive; campaigns are sent to a segment and flows can be limited to one.
          </p>
        </EmptyState>
      )}
    </>
  );
}
