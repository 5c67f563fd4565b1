import type { Metadata } from 'next';
import Link from 'next/link';
import { ActiveBadge } from '@/components/active-badge';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { FlowSteps, revenueLine } from '@/components/flow-steps';
import { getTriggerResults, getTriggers } from '@/lib/data';
import { number } from '@/lib/format';

export const metadata: Metadata = { title: 'Flows' };

export default async function FlowsPage() {
  const { triggers } = await getTriggers();
  const results = await Promise.all(triggers.map((t) => getTriggerResults(t.id).catch(() => undefined)));
  const rows = triggers.map((t, i) => ({ t, r: results[i] }));
  return (
    <>
      <h1>Flows</h1>
      <p>
        <Link className="button" href="/flows/new">
          New abandoned-cart trigger
        </Link>
      </p>
      {rows.length ? (
        <DataTable
          panel
          rows={rows}
          rowKey={({ t }) => t.id}
          rowData={({ t }) => ({ 'data-flow': t.name })}
          columns={[
            { header: 'Flow', cell: ({ t }) => <Link href={`/flows/${t.id}`}>{t.name}</Link> },
            { header: 'When', cell: ({ t }) => t.entryEvent },
            { header: 'Steps', cellClassName: 'break', cell: ({ t, r }) => <FlowSteps trigger={t} results={r} /> },
            { header: 'Unless', cell: ({ t }) => t.exitEvents.join(', ') || '—' },
            { header: 'Sent', className: 'num', cell: ({ r }) => (r ? number(r.sent) : '—') },
            { header: 'Orders', className: 'num', cell: ({ r }) => (r ? number(r.orders) : '—') },
            { header: 'Revenue', className: 'num', cell: ({ r }) => (r ? revenueLine(r.revenueByCurrency) : '—') },
            { header: 'Status', cell: ({ t }) => <ActiveBadge active={t.active} /> },
          ]}
        />
      ) : (
        <EmptyState title="No flows yet">
          <p>
            A flow waits after an event (say <code>add_to_cart</code>) and, unless the visitor does another one in the
            meantime (<code>order_placed</code>), sends an e-mail or a webhook, and may go on with further steps. Start
            with the abandoned cart above; e-mails need <code>SMTP_URL</code> set on the collector and go only to
            profiles with e-mail consent.
          </p>
        </EmptyState>
      )}
    </>
  );
}
