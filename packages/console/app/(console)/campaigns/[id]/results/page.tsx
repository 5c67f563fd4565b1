import type { Metadata } from 'next';
import Link from 'next/link';
import { AutoRefresh } from '@/components/auto-refresh';
import { CampaignStatusBadge } from '@/components/campaign-form';
import { revenueLine } from '@/components/flow-steps';
import { getCampaignOrFlow, getCampaignResults } from '@/lib/data';
import { number, percent } from '@/lib/format';

export const metadata: Metadata = { title: 'Campaign results' };

export default async function CampaignResultsPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const campaign = await getCampaignOrFlow(id); // first: a flow's id redirects to the flow
  const r = await getCampaignResults(id);
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
        <ResultCard label="Sent" name="sent" value={number(r.sent)} />
        <ResultCard label="Failed" name="failed" value={number(r.failed)} />
        <ResultCard label="Clicks" name="clicks" value={number(r.clicks)} />
        <ResultCard
          label="People who clicked"
          name="clickers"
          value={number(r.clickers)}
          hint={`${percent(r.sent ? r.clickers / r.sent : null)} of those sent it`}
        />
        {r.opened !== undefined ? (
          <>
            <ResultCard label="Opens" name="opened" value={number(r.opened)} />
            <ResultCard
              label="People who opened"
              name="openers"
              value={number(r.openers ?? 0)}
              hint={`${percent(r.sent ? (r.openers ?? 0) / r.sent : null)} of those sent it`}
            />
          </>
        ) : null}
        <ResultCard
          label="Unsubscribed"
          name="unsubscribed"
          value={number(r.unsubscribed)}
          hint={`${percent(r.sent ? r.unsubscribed / r.sent : null)} of those sent it`}
        />
        <ResultCard label="Orders" name="orders" value={number(r.orders)} />
        <ResultCard label="Revenue" name="revenue" value={revenueLine(r.revenueByCurrency)} />
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
        click, credited to that e-mail.{' '}
        {r.opened !== undefined
          ? `Opens are loads of the open pixel by the people sent it; ${number(r.suspectOpens ?? 0)} more came from Apple Mail's privacy proxy (which loads every image, opened or not) and scanners and count nowhere. `
          : 'Opens are not tracked (Site settings, E-mail open tracking). '}
        Unsubscribed: the people who confirmed the unsubscribe page of this e-mail&apos;s link (or their mail
        client&apos;s one-click unsubscribe), each once; opening the page alone changes nothing.
      </p>
    </>
  );
}

/** One figure of the results, named by `data-result` (what the browser test reads). */
function ResultCard({ label, name, value, hint }: { label: string; name: string; value: string; hint?: string }) {
  return (
    <div className="card">
      <p className="label">{label}</p>
      <p className="value" data-result={name}>
        {value}
      </p>
      {hint ? <p className="hint">{hint}</p> : null}
    </div>
  );
}
