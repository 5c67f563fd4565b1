import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { AutoRefresh } from '@/components/auto-refresh';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { DataTable } from '@/components/data-table';
import { SegmentBuilder } from '@/components/segment-builder';
import { getSegment, getSegmentMembers } from '@/lib/data';
import { dateTime, money, number, param } from '@/lib/format';
import { describeDefinition } from '@/lib/segment-form';
import { countDefinition, deleteSegment, updateSegment } from '../actions';

export const metadata: Metadata = { title: 'Segment' };

export default async function SegmentPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { id } = await params;
  const sp = await searchParams;
  const cursor = param(sp.cursor);
  const [segment, page] = await Promise.all([getSegment(id), getSegmentMembers(id, cursor)]);
  return (
    <>
      <p>
        <Link href="/segments">← Segments</Link>
      </p>
      <h1>{segment.name}</h1>
      {param(sp.created) ? (
        <p className="success" role="status">
          Segment saved. Its members are being counted.
        </p>
      ) : null}
      <div className="panel">
        <dl className="facts">
          <dt>Members</dt>
          <dd>
            <strong data-count>{number(segment.count)}</strong>
            {segment.evaluating ? <span className="muted"> counting every profile…</span> : null}
          </dd>
          <dt>Who</dt>
          <dd>{describeDefinition(segment.definition)}</dd>
          <dt>Counted</dt>
          <dd>{segment.evaluatedAt ? `${dateTime(segment.evaluatedAt)}, live since` : 'not yet'}</dd>
        </dl>
        <div className="row">
          <a className="button secondary" href={`/segments/${segment.id}/export`} download>
            Export CSV
          </a>
          <Link className="button secondary" href={`/campaigns/new?segment=${segment.id}`}>
            New campaign to this segment
          </Link>
          <AutoRefresh seconds={segment.evaluating ? 2 : 10} />
        </div>
      </div>
      <div className="grid">
        <section className="panel" aria-labelledby="members">
          <h2 id="members" style={{ marginTop: 0 }}>
            Members
          </h2>
          {page.members.length ? (
            <DataTable
              stack
              rows={page.members}
              rowKey={(m) => m.id}
              rowData={(m) => ({ 'data-member': m.email ?? m.id })}
              columns={[
                {
                  header: 'Person',
                  cellClassName: 'break',
                  cell: (m) => <Link href={`/profiles/${m.id}`}>{m.email ?? m.id}</Link>,
                },
                { header: 'Consent', cell: (m) => (m.consent ? 'yes' : 'no') },
                { header: 'Country', cell: (m) => m.country ?? '—' },
                { header: 'Orders', className: 'num', cell: (m) => number(m.orders) },
                {
                  header: 'Revenue',
                  className: 'num',
                  cell: (m) =>
                    Object.entries(m.revenue)
                      .map(([c, v]) => `${money(v)} ${c}`)
                      .join(', ') || '—',
                },
                { header: 'Last seen', className: 'hide-narrow', cell: (m) => dateTime(m.lastSeen) },
              ]}
            />
          ) : (
            <p className="muted">
              {segment.evaluating ? 'Counting: members appear here in a moment.' : 'Nobody matches these rules now.'}
            </p>
          )}
          <div className="row">
            {cursor ? <Link href={`/segments/${segment.id}`}>First page</Link> : null}
            {page.nextCursor ? (
              <Link href={`/segments/${segment.id}?cursor=${encodeURIComponent(page.nextCursor)}`}>Next page →</Link>
            ) : null}
          </div>
        </section>
        <section className="panel" aria-labelledby="edit">
          <h2 id="edit" style={{ marginTop: 0 }}>
            Rules
          </h2>
          <ActionForm keepValues action={updateSegment} submit="Save" pending="Saving…" label="Edit segment">
            <input type="hidden" name="id" value={segment.id} />
            <SegmentBuilder name={segment.name} definition={segment.definition} count={countDefinition} />
          </ActionForm>
          <h2>Delete</h2>
          <ConfirmDialog open="Delete segment…" title={`Delete “${segment.name}”?`}>
            <p>Campaigns and flows that use it can no longer be sent to it.</p>
            <ActionForm action={deleteSegment} submit="Delete" danger>
              <input type="hidden" name="id" value={segment.id} />
            </ActionForm>
          </ConfirmDialog>
        </section>
      </div>
    </>
  );
}
