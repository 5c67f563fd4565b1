import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { ActiveBadge } from '@/components/active-badge';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { DeliveryTable } from '@/components/delivery-table';
import { getWebhook, getWebhookDeliveries } from '@/lib/data';
import { dateTime } from '@/lib/format';
import { deleteWebhook, retryDelivery, setWebhookActive, testWebhook } from '../actions';

export const metadata: Metadata = { title: 'Webhook' };

export default async function WebhookPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const [hook, { deliveries }] = await Promise.all([getWebhook(id), getWebhookDeliveries(id)]);
  return (
    <>
      <p>
        <Link href="/webhooks">← Webhooks</Link>
      </p>
      <h1 className="break">{hook.url}</h1>
      <div className="grid">
        <section className="panel" aria-labelledby="about">
          <h2 id="about" style={{ marginTop: 0 }}>
            Endpoint
          </h2>
          <dl className="facts">
            <dt>Events</dt>
            <dd>{hook.events.join(', ')}</dd>
            <dt>Status</dt>
            <dd>
              <ActiveBadge active={hook.active} />
            </dd>
            <dt>Created</dt>
            <dd>{dateTime(hook.createdAt)}</dd>
          </dl>
          <ActionForm action={testWebhook} submit="Send a test POST" pending="Queueing…">
            <input type="hidden" name="id" value={hook.id} />
          </ActionForm>
          <ActionForm action={setWebhookActive} submit={hook.active ? 'Pause' : 'Resume'}>
            <input type="hidden" name="id" value={hook.id} />
            <input type="hidden" name="active" value={String(!hook.active)} />
          </ActionForm>
          <div style={{ marginTop: 12 }}>
            <ConfirmDialog open="Delete endpoint…" title="Delete this endpoint?">
              <p>Deliveries still queued for it are dropped.</p>
              <ActionForm action={deleteWebhook} submit="Delete" danger>
                <input type="hidden" name="id" value={hook.id} />
              </ActionForm>
            </ConfirmDialog>
          </div>
        </section>
        <section className="panel" aria-labelledby="deliveries">
          <h2 id="deliveries" style={{ marginTop: 0 }}>
            Deliveries (latest 100)
          </h2>
          {deliveries.length ? (
            <DeliveryTable
              deliveries={deliveries}
              showTarget={false}
              actions={(d) =>
                d.status === 'failed' && d.messageId ? (
                  <ActionForm action={retryDelivery} submit="Retry" pending="…">
                    <input type="hidden" name="id" value={hook.id} />
                    <input type="hidden" name="delivery" value={d.id} />
                  </ActionForm>
                ) : null
              }
            />
          ) : (
            <p className="muted">No deliveries yet. Send a test POST, or wait for a subscribed event.</p>
          )}
        </section>
      </div>
    </>
  );
}
