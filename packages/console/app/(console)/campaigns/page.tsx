import type { Metadata } from 'next';
import Link from 'next/link';
import { api } from '@/lib/collector';
import type { Trigger } from '@/lib/types';

export const metadata: Metadata = { title: 'Campaigns' };

const minutes = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : `${Math.round((s / 60) * 10) / 10} min`);

export default async function CampaignsPage() {
  const { triggers } = await api<{ triggers: Trigger[] }>('GET', '/api/triggers');
  return (
    <>
      <h1>Campaigns</h1>
      <p>
        <Link className="button" href="/campaigns/new">
          New abandoned-cart trigger
        </Link>
      </p>
      {triggers.length ? (
        <div className="panel table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Trigger</th>
                <th scope="col">When</th>
                <th scope="col">Wait</th>
                <th scope="col">Unless</th>
                <th scope="col">Then</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {triggers.map((t) => (
                <tr key={t.id}>
                  <td>
                    <Link href={`/campaigns/${t.id}`}>{t.name}</Link>
                  </td>
                  <td>{t.entryEvent}</td>
                  <td>{minutes(t.delaySeconds)}</td>
                  <td>{t.exitEvents.join(', ') || '—'}</td>
                  <td className="break">{t.action.type === 'email' ? 'e-mail' : `webhook ${t.action.url}`}</td>
                  <td>
                    <span className={`badge ${t.active ? 'on' : 'off'}`}>{t.active ? 'active' : 'paused'}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty">
          <h2 style={{ marginTop: 0 }}>No campaign triggers yet</h2>
          <p>
            A trigger waits after an event (say <code>add_to_cart</code>) and, unless the visitor does another one in
            the meantime (<code>order_placed</code>), sends an e-mail or a webhook. Start with the abandoned cart above;
            e-mails need <code>SMTP_URL</code> set on the collector and go only to profiles with e-mail consent.
          </p>
        </div>
      )}
    </>
  );
}
