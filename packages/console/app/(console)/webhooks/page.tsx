import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { api } from '@/lib/collector';
import type { Webhook } from '@/lib/types';
import { createWebhook } from './actions';

export const metadata: Metadata = { title: 'Webhooks' };

export default async function WebhooksPage() {
  const { webhooks } = await api<{ webhooks: Webhook[] }>('GET', '/api/webhooks');
  return (
    <>
      <h1>Webhooks</h1>
      {webhooks.length ? (
        <div className="panel table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {webhooks.map((w) => (
                <tr key={w.id}>
                  <td className="break">
                    <Link href={`/webhooks/${w.id}`}>{w.url}</Link>
                  </td>
                  <td>{w.events.join(', ')}</td>
                  <td>
                    <span className={`badge ${w.active ? 'on' : 'off'}`}>{w.active ? 'active' : 'paused'}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty">
          <h2 style={{ marginTop: 0 }}>No endpoints yet</h2>
          <p>
            Subscribe a URL of yours: every stored event of the chosen names is POSTed to it as JSON, signed with a
            secret (header <code>X-TrackMate-Signature</code>; <code>verifyWebhookSignature</code> in @trackmate/node
            checks it), retried with backoff when it fails.
          </p>
        </div>
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
