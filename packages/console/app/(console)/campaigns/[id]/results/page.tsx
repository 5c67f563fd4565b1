import type { Metadata } from 'next';
import Link from 'next/link';
import { AutoRefresh } from '@/components/auto-refresh';
import { CampaignStatusBadge } from '@/components/campaign-form';
import { revenueLine } from '@/components/flow-steps';
import { getCampaign, getCampaignResults } from '@/lib/data';
import { number, percent } from '@/lib/format';

export const metadata: Metadata = { title: 'Campaign results' };

export default async function CampaignResultsPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const [campaign, r] = await Promise.all([getCampaign(id), getCampaignResults(id)]);
  const currencies = Object.entries(r.revenueByCurrency);
  return (
    <>
      <p>
        <Link href={`/campaigns/${campaign.id}`}>← {campaign.name}</Link>
      </p>
      <h1>Results of {campaign.name}</h1>
      <div className="row">
        <CampaignStatusBadge status={campaign.status} />
        <AutoRefresh seconds={5} />
      </div>
      <section className="cards" aria-label="Results" data-results>
        <div className="card">
          <p className="label">Sent</p>
          <p className="value" data-result="sent">
            {number(r.sent)}
          </p>
        </div>
        <div className="card">
          <p className="label">Failed</p>
          <p className="value" data-result="failed">
            {number(r.failed)}
          </p>
        </div>
        <div className="card">
          <p className="label">Clicks</p>
          <p className="value" data-result="clicks">
            {number(r.clicks)}
          </p>
        </div>
        <div className="card">
          <p className="label">People who clicked</p>
          <p className="value" data-result="clickers">
            {number(r.clickers)}
          </p>
          <p className="hint">{percent(r.sent ? r.clickers / r.sent : null)} of those sent it</p>
        </div>
        <div className="card">
          <p className="label">Orders</p>
          <p className="value" data-result="orders">
            {number(r.orders)}
          </p>
        </div>
        <div className="card">
          <p className="label">Revenue</p>
          <p className="value" data-result="revenue">
            {revenueLine(r.revenueByCurrency)}
          </p>
        </div>
      </section>
      {currencies.length > 1 ? (
        <section className="panel" aria-label="Revenue per currency">
          <dl className="facts">
            {currencies.map(([c, v]) => (
              <div key={c} style={{ display: 'contents' }}>
                <dt>{c}</dt>
                <dd data-currency={c}>{revenueLine({ [c]: v })}</dd>
              </div>
            ))}
          </dl>
        </section>
      ) : null}
      <p className="hint">
        Clicks are on the tracked links by the people sent the e-mail; {number(r.suspectClicks)} more came from link
        scanners and privacy proxies (within seconds of delivery, or a robot) and count nowhere. Orders and revenue are
        the shop server&apos;s orders placed within {r.attributionWindowDays} days after a person&apos;s last counted
        click, credited to that e-mail. Unsubscribes are on each person&apos;s consent history.
      </p>
    </>
  );
}
