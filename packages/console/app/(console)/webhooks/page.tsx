import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { ActiveBadge } from '@/components/active-badge';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { getWebhooks } from '@/lib/data';
import { createWebhook } from './actions';

export const metadata: Metadata = { title: 'Webhooks' };

export default async function WebhooksPage() {
  const { webhooks } = await getWebhooks();
  return (
    <>
      <h1>Webhooks</h1>
      {webhooks.length ? (
        <DataTable
          panel
          rows={webhooks}
          rowKey={(w) => w.id}
          columns={[
            {
              header: 'Endpoint',
              cellClassName: 'break',
              cell: (w) => <Link href={`/webhooks/${w.id}`}>{w.url}</Link>,
            },
            { header: 'Events', cell: (w) => w.events.join(', ') },
            { header: 'Status', cell: (w) => <ActiveBadge active={w.active} /> },
          ]}
        />
      ) : (
        <EmptyState title="No endpoints yet">
          <p>
            Subscribe a URL of yours: every stored event of the chosen names is POSTed to it as JSON, signed with a
            secret (header <code>X-TrackMate-Signature</code>; <code>verifyWebhookSignature</code> in @trackmate/node
            checks it), retried with backoff when it fails.
          </p>
        </EmptyState>
      )}
      <section className="panel" aria-labelledby="new">
        <h2 id="new" style={{ marginTop: 0 }}>
          Add an endpoint
        </h2>
        <ActionForm action={createWebhook} submit="Subscribe" pending="Subscribing…" label="Add an endpoint">
          <label htmlFor="url">URL</label>
          <input id="url" name="url" type="url" required placeholder="https://example.com/hooks/trackmate" />
          <label htmlFor="events">Events (comma-separated; empty or * for all)</label>
          <input id="events" name="events" placeholder="order_placed, add_to_cart" />
        </ActionForm>
      </section>
    </>
  );
}
