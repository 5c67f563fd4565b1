import type { CampaignPreview } from '@trackmate/schema';
import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { AutoRefresh } from '@/components/auto-refresh';
import { CampaignFields, CampaignProgress, CampaignStatusBadge } from '@/components/campaign-form';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { ApiError } from '@/lib/collector';
import { getCampaignOrFlow, getCampaignPreview, getSegments } from '@/lib/data';
import { dateTime, number, param } from '@/lib/format';
import {
  cancelCampaign,
  deleteCampaign,
  pauseCampaign,
  resumeCampaign,
  sendCampaign,
  testCampaign,
  updateCampaign,
} from '../actions';

export const metadata: Metadata = { title: 'Campaign' };

export default async function CampaignPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { id } = await params;
  const sp = await searchParams;
  const profileId = param(sp.profileId)?.trim() || undefined;
  const [campaign, { segments }] = await Promise.all([getCampaignOrFlow(id), getSegments()]);
  let preview: CampaignPreview | undefined;
  let previewError: string | undefined;
  try {
    preview = await getCampaignPreview(id, profileId);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    previewError = err.message;
  }
  const segment = segments.find((s) => s.id === campaign.segmentId);
  const editable = campaign.status === 'draft' || campaign.status === 'scheduled';
  const running = campaign.status === 'sending' || campaign.status === 'scheduled';
  const p = campaign.progress;
  return (
    <>
      <p>
        <Link href="/campaigns">← Campaigns</Link>
      </p>
      <h1>{campaign.name}</h1>
      {param(sp.created) ? (
        <p className="success" role="status">
          Draft saved. Preview it, send yourself a test, then send it.
        </p>
      ) : null}
      <section className="panel" aria-labelledby="progress">
        <h2 id="progress" style={{ marginTop: 0 }}>
          Status <CampaignStatusBadge status={campaign.status} />
        </h2>
        <dl className="facts">
          <dt>Segment</dt>
          <dd>
            {segment ? <Link href={`/segments/${segment.id}`}>{segment.name}</Link> : '(deleted)'} ({number(p.audience)}{' '}
            members now)
          </dd>
          {campaign.scheduledAt ? (
            <>
              <dt>Scheduled for</dt>
              <dd>{dateTime(campaign.scheduledAt)}</dd>
            </>
          ) : null}
          {campaign.startedAt ? (
            <>
              <dt>Started</dt>
              <dd>{dateTime(campaign.startedAt)}</dd>
            </>
          ) : null}
          {campaign.finishedAt ? (
            <>
              <dt>Finished</dt>
              <dd>{dateTime(campaign.finishedAt)}</dd>
            </>
          ) : null}
          <dt>Progress</dt>
          <dd>
            <CampaignProgress campaign={campaign} />
          </dd>
          <dt>Sent</dt>
          <dd data-sent>{number(p.sent)}</dd>
          <dt>Failed</dt>
          <dd data-failed>{number(p.failed)}</dd>
          <dt>Skipped</dt>
          <dd data-skipped>{number(p.skipped)} (no address, no consent, erased or e-mailed recently)</dd>
          {p.inFlight ? (
            <>
              <dt>Unknown</dt>
              <dd>{number(p.inFlight)} handed to SMTP by a run that stopped before the answer (never sent again)</dd>
            </>
          ) : null}
        </dl>
        <div className="row">
          {campaign.status === 'draft' ? null : (
            <Link className="button secondary" href={`/campaigns/${campaign.id}/results`}>
              Results
            </Link>
          )}
          {running ? <AutoRefresh seconds={2} /> : null}
        </div>
        {campaign.status === 'draft' || campaign.status === 'scheduled' ? (
          <ActionForm keepValues action={sendCampaign} submit="Send" pending="Sending…" label="Send campaign">
            <input type="hidden" name="id" value={campaign.id} />
            <label className="inline">
              <input type="radio" name="when" value="now" defaultChecked /> now
            </label>
            <label className="inline">
              <input type="radio" name="when" value="later" /> at
            </label>
            <label htmlFor="at">Send at (UTC)</label>
            <input id="at" name="at" type="datetime-local" />
          </ActionForm>
        ) : null}
        <div className="row">
          {campaign.status === 'sending' ? (
            <ActionForm action={pauseCampaign} submit="Pause" pending="Pausing…" label="Pause campaign">
              <input type="hidden" name="id" value={campaign.id} />
            </ActionForm>
          ) : null}
          {campaign.status === 'paused' ? (
            <ActionForm action={resumeCampaign} submit="Resume" pending="Resuming…" label="Resume campaign">
              <input type="hidden" name="id" value={campaign.id} />
            </ActionForm>
          ) : null}
          {['scheduled', 'sending', 'paused'].includes(campaign.status) ? (
            <ConfirmDialog open="Cancel sending…" title={`Cancel “${campaign.name}”?`}>
              <p>Nobody not yet sent it gets it; it cannot be sent again.</p>
              <ActionForm action={cancelCampaign} submit="Cancel campaign" danger>
                <input type="hidden" name="id" value={campaign.id} />
              </ActionForm>
            </ConfirmDialog>
          ) : null}
        </div>
      </section>
      <div className="grid">
        <section className="panel" aria-labelledby="preview" data-preview>
          <h2 id="preview" style={{ marginTop: 0 }}>
            Preview
          </h2>
          <form method="get" className="row" aria-label="Preview as">
            <div style={{ flex: '1 1 200px' }}>
              <label htmlFor="profileId">As profile (id; empty: the segment&apos;s first member)</label>
              <input id="profileId" name="profileId" defaultValue={profileId} pattern="[0-9a-fA-F]{24}" />
            </div>
            <button type="submit" className="secondary">
              Preview
            </button>
          </form>
          {preview ? (
            <>
              <dl className="facts">
                <dt>To</dt>
                <dd data-preview-to>
                  <Link href={`/profiles/${preview.profileId}`}>{preview.to ?? '(no address)'}</Link>
                </dd>
                <dt>Subject</dt>
                <dd data-preview-subject>{preview.subject}</dd>
              </dl>
              <pre className="break" data-preview-text style={{ whiteSpace: 'pre-wrap' }}>
                {preview.text}
              </pre>
              <details>
                <summary>HTML part</summary>
                <iframe
                  title="HTML part of the message"
                  sandbox=""
                  srcDoc={preview.html}
                  style={{ width: '100%', minHeight: 240, border: '1px solid var(--line)', background: '#fff' }}
                />
              </details>
            </>
          ) : (
            <p className="muted" role="status">
              {previewError}
            </p>
          )}
          <h2>Test send</h2>
          <ActionForm keepValues action={testCampaign} submit="Send test" pending="Sending…" label="Test send">
            <input type="hidden" name="id" value={campaign.id} />
            <input type="hidden" name="profileId" value={profileId ?? ''} />
            <label htmlFor="test-email">To address</label>
            <input id="test-email" name="email" type="email" required placeholder="you@example.com" />
            <p className="hint">
              The message as the previewed person gets it, subject prefixed [Test]; nothing recorded.
            </p>
          </ActionForm>
        </section>
        <section className="panel" aria-labelledby="compose">
          <h2 id="compose" style={{ marginTop: 0 }}>
            Message
          </h2>
          {editable ? (
            <ActionForm keepValues action={updateCampaign} submit="Save" pending="Saving…" label="Edit campaign">
              <CampaignFields campaign={campaign} segments={segments} />
            </ActionForm>
          ) : (
            <>
              <p>
                <strong>{campaign.subject}</strong>
              </p>
              <pre className="break" style={{ whiteSpace: 'pre-wrap' }}>
                {campaign.body}
              </pre>
              <p className="hint">
                {number(campaign.ratePerSecond)} a second
                {campaign.frequencyCapHours
                  ? `; skips anyone e-mailed in the last ${campaign.frequencyCapHours} h`
                  : ''}
                .
              </p>
            </>
          )}
          {campaign.status === 'sending' ? null : (
            <>
              <h2>Delete</h2>
              <ConfirmDialog open="Delete campaign…" title={`Delete “${campaign.name}”?`}>
                <p>Its progress and results are deleted with it.</p>
                <ActionForm action={deleteCampaign} submit="Delete" danger>
                  <input type="hidden" name="id" value={campaign.id} />
                </ActionForm>
              </ConfirmDialog>
            </>
          )}
        </section>
      </div>
    </>
  );
}
