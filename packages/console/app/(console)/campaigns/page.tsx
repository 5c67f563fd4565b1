import type { EmailResults } from '@trackmate/schema';
import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { AutoRefresh } from '@/components/auto-refresh';
import { CampaignProgress, CampaignStatusBadge } from '@/components/campaign-form';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { revenueLine } from '@/components/flow-steps';
import { getCampaignResults, getCampaigns, getSegments } from '@/lib/data';
import { dateTime, number } from '@/lib/format';

export const metadata: Metadata = { title: 'Campaigns' };

export default async function CampaignsPage() {
  const [{ campaigns }, { segments }] = await Promise.all([getCampaigns(), getSegments()]);
  const segmentName = new Map(segments.map((s) => [s.id, s.name]));
  // what each sent campaign earned (three Redis reads on the collector each)
  const results = new Map(
    await Promise.all(
      campaigns
        .filter((c) => c.status !== 'draft')
        .map(async (c) => [c.id, await getCampaignResults(c.id).catch(() => undefined)] as const),
    ),
  );
  const shown = (id: string, cell: (r: EmailResults) => ReactNode) => {
    const r = results.get(id);
    return r ? cell(r) : '—';
  };
  const active = campaigns.some((c) => c.status === 'sending' || c.status === 'scheduled');
  return (
    <>
      <h1>Campaigns</h1>
      <div className="row">
        <Link className="button" href="/campaigns/new">
          New campaign
        </Link>
        {active ? <AutoRefresh seconds={3} /> : null}
      </div>
      {campaigns.length ? (
        <DataTable
          panel
          rows={campaigns}
          rowKey={(c) => c.id}
          rowData={(c) => ({ 'data-campaign': c.name })}
          columns={[
            { header: 'Campaign', cell: (c) => <Link href={`/campaigns/${c.id}`}>{c.name}</Link> },
            { header: 'Segment', cell: (c) => segmentName.get(c.segmentId) ?? '(deleted)' },
            { header: 'Status', cell: (c) => <CampaignStatusBadge status={c.status} /> },
            { header: 'Progress', cell: (c) => (c.status === 'draft' ? '—' : <CampaignProgress campaign={c} />) },
            {
              header: 'When',
              className: 'hide-narrow',
              cell: (c) => dateTime(c.finishedAt ?? c.startedAt ?? c.scheduledAt ?? c.updatedAt),
            },
            { header: 'Clickers', className: 'num', cell: (c) => shown(c.id, (r) => number(r.clickers)) },
            { header: 'Orders', className: 'num', cell: (c) => shown(c.id, (r) => number(r.orders)) },
            {
              header: 'Revenue',
              className: 'num',
              cell: (c) =>
                shown(c.id, (r) => (
                  <Link href={`/campaigns/${c.id}/results`} data-revenue>
                    {revenueLine(r.revenueByCurrency)}
                  </Link>
                )),
            },
          ]}
        />
      ) : (
        <EmptyState title="No campaigns yet">
          <p>
            A campaign is one e-mail to a segment, sent now or at a set time, only to members with e-mail consent — each
            person at most once, even after a pause. Make a segment first, then compose the message, preview it with a
            real member&apos;s values and send yourself a test. The collector needs <code>SMTP_URL</code>.
          </p>
        </EmptyState>
      )}
    </>
  );
}
