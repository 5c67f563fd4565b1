import type { Campaign, Segment } from '@trackmate/schema';
import { number } from '../lib/format';

/** The fields of a broadcast: its name, audience, message and pace. */
export function CampaignFields({
  campaign,
  segments,
  segmentId,
}: {
  campaign?: Campaign;
  segments: Segment[];
  segmentId?: string;
}) {
  return (
    <>
      {campaign ? <input type="hidden" name="id" value={campaign.id} /> : null}
      <label htmlFor="name">Name</label>
      <input id="name" name="name" required maxLength={200} defaultValue={campaign?.name} />
      <label htmlFor="segmentId">Send to segment</label>
      <select id="segmentId" name="segmentId" required defaultValue={campaign?.segmentId ?? segmentId ?? ''}>
        <option value="" disabled>
          Choose a segment…
        </option>
        {segments.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name} ({number(s.count)} members)
          </option>
        ))}
      </select>
      <label htmlFor="subject">Subject</label>
      <input
        id="subject"
        name="subject"
        required
        maxLength={300}
        defaultValue={campaign?.subject ?? '{{profile.firstName}}, something new for you'}
      />
      <label htmlFor="body">Body</label>
      <textarea
        id="body"
        name="body"
        required
        maxLength={50000}
        rows={8}
        defaultValue={campaign?.body ?? 'Hi {{profile.firstName}},\n\n…\n\nhttps://your-shop.example/'}
      />
      <p className="hint">
        Values: {'{{profile.firstName}}'}, {'{{profile.lastName}}'}, {'{{profile.email}}'}, {'{{unsubscribeUrl}}'}.
        Links become tracked links when sent; every message ends with its unsubscribe link.
      </p>
      <div className="row">
        <div>
          <label htmlFor="ratePerSecond">Messages a second</label>
          <input
            id="ratePerSecond"
            name="ratePerSecond"
            type="number"
            min={1}
            max={1000}
            placeholder="200"
            defaultValue={campaign?.ratePerSecond}
          />
        </div>
        <div>
          <label htmlFor="frequencyCapHours">Skip anyone e-mailed in the last (hours, empty: nobody)</label>
          <input
            id="frequencyCapHours"
            name="frequencyCapHours"
            type="number"
            min={1}
            max={168}
            defaultValue={campaign?.frequencyCapHours ?? undefined}
          />
        </div>
      </div>
    </>
  );
}

const STATUS_CLASS: Record<Campaign['status'], string> = {
  draft: '',
  scheduled: '',
  sending: 'on',
  paused: '',
  sent: 'on',
  cancelled: 'off',
};

export function CampaignStatusBadge({ status }: { status: Campaign['status'] }) {
  return (
    <span className={`badge ${STATUS_CLASS[status]}`.trim()} data-status={status}>
      {status}
    </span>
  );
}

/** `sent + failed + skipped` of the audience, as a meter and in words. */
export function CampaignProgress({ campaign }: { campaign: Campaign }) {
  const p = campaign.progress;
  const done = p.sent + p.failed + p.skipped;
  const of = Math.max(p.audience, done);
  return (
    <span data-progress>
      <meter min={0} max={Math.max(of, 1)} value={done} aria-label="Progress" /> {number(p.sent)} sent
      {p.failed ? `, ${number(p.failed)} failed` : ''}
      {p.skipped ? `, ${number(p.skipped)} skipped` : ''} of {number(of)}
    </span>
  );
}
