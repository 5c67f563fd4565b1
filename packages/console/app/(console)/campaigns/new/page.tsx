import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { CampaignFields } from '@/components/campaign-form';
import { EmptyState } from '@/components/empty-state';
import { getSegments } from '@/lib/data';
import { param } from '@/lib/format';
import { createCampaign } from '../actions';

export const metadata: Metadata = { title: 'New campaign' };

export default async function NewCampaignPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { segments } = await getSegments();
  return (
    <>
      <p>
        <Link href="/campaigns">← Campaigns</Link>
      </p>
      <h1>New campaign</h1>
      {segments.length ? (
        <div className="panel">
          <ActionForm keepValues action={createCampaign} submit="Save draft" pending="Saving…" label="New campaign">
            <CampaignFields segments={segments} segmentId={param((await searchParams).segment)} />
          </ActionForm>
          <p className="hint">A draft is sent nowhere: preview it, send a test, then send or schedule it.</p>
        </div>
      ) : (
        <EmptyState title="Make a segment first">
          <p>
            A campaign goes to the members of a segment. <Link href="/segments/new">New segment</Link>
          </p>
        </EmptyState>
      )}
    </>
  );
}
