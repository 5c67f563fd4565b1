import type { Metadata } from 'next';
import Link from 'next/link';
import { ActiveBadge } from '@/components/active-badge';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { getTriggers } from '@/lib/data';

export const metadata: Metadata = { title: 'Campaigns' };

const minutes = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : `${Math.round((s / 60) * 10) / 10} min`);

export default async function CampaignsPage() {
  const { triggers } = await getTriggers();
  return (
    <>
      <h1>Campaigns</h1>
      <p>
        <Link className="button" href="/campaigns/new">
          New abandoned-cart trigger
        </Link>
      </p>
      {triggers.length ? (
        <DataTable
          panel
          rows={triggers}
          rowKey={(t) => t.id}
          columns={[
            { header: 'Trigger', cell: (t) => <Link href={`/campaigns/${t.id}`}>{t.name}</Link> },
            { header: 'When', cell: (t) => t.entryEvent },
            { header: 'Wait', cell: (t) => minutes(t.delaySeconds) },
            { header: 'Unless', cell: (t) => t.exitEvents.join(', ') || '—' },
            {
              header: 'Then',
              cellClassName: 'break',
              cell: (t) => (t.action.type === 'email' ? 'e-mail' : `webhook ${t.action.url}`),
            },
            { header: 'Status', cell: (t) => <ActiveBadge active={t.active} /> },
          ]}
        />
      ) : (
        <EmptyState title="No campaign triggers yet">
          <p>
            A trigger waits after an event (say <code>add_to_cart</code>) and, unless the visitor does another one in
            the meantime (<code>order_placed</code>), sends an e-mail or a webhook. Start with the abandoned cart above;
            e-mails need <code>SMTP_URL</code> set on the collector and go only to profiles with e-mail consent.
          </p>
        </EmptyState>
      )}
    </>
  );
}
