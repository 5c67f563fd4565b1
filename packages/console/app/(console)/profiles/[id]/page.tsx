import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { EventList } from '@/components/event-list';
import { getProfile, getProfileEvents } from '@/lib/data';
import { dateTime, param, personLabel } from '@/lib/format';
import { eraseProfile, setConsent } from '../actions';

export const metadata: Metadata = { title: 'Profile' };

export default async function ProfilePage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { id } = await params;
  const cursor = param((await searchParams).cursor);
  const [profile, events] = await Promise.all([getProfile(id), getProfileEvents(id, cursor)]);
  const name = [profile.firstName, profile.lastName].filter(Boolean).join(' ');
  const label = personLabel(profile);

  return (
    <>
      <p>
        <Link href="/profiles">← Profiles</Link>
      </p>
      <h1 className="break">{label}</h1>
      <div className="grid">
        <section className="panel" aria-labelledby="facts">
          <h2 id="facts" style={{ marginTop: 0 }}>
            Profile
          </h2>
          <dl className="facts">
            <dt>E-mail</dt>
            <dd>{profile.email ?? '—'}</dd>
            {profile.unverifiedEmail ? (
              <>
                <dt>Claimed e-mail</dt>
                <dd>
                  {profile.unverifiedEmail.email}{' '}
                  <span className="badge off" title="Sent from a browser with this user id; no backend confirmed it">
                    unverified
                  </span>{' '}
                  <small>{dateTime(profile.unverifiedEmail.at)}</small>
                </dd>
              </>
            ) : null}
            {profile.userId ? (
              <>
                <dt>User id</dt>
                <dd>{profile.userId}</dd>
              </>
            ) : null}
            <dt>Name</dt>
            <dd>{name || '—'}</dd>
            <dt>Phone</dt>
            <dd>{profile.phone ?? '—'}</dd>
            <dt>E-mail consent</dt>
            <dd>
              <span className={`badge ${profile.consent.email ? 'on' : 'off'}`}>
                {profile.consent.email ? 'yes' : 'no'}
              </span>
            </dd>
            <dt>Visitor ids</dt>
            <dd>{profile.anonymousIds.join(', ') || '—'}</dd>
            <dt>Created</dt>
            <dd>{dateTime(profile.createdAt)}</dd>
            <dt>Id</dt>
            <dd>
              <code>{profile.id}</code>
            </dd>
          </dl>
          {profile.metadata && Object.keys(profile.metadata).length ? (
            <details>
              <summary>Metadata</summary>
              <pre>{JSON.stringify(profile.metadata, null, 2)}</pre>
            </details>
          ) : null}
          <ActionForm
            action={setConsent}
            submit={profile.consent.email ? 'Withdraw e-mail consent' : 'Record e-mail consent'}
          >
            <input type="hidden" name="id" value={profile.id} />
            <input type="hidden" name="consent" value={String(!profile.consent.email)} />
          </ActionForm>
        </section>
        <section className="panel" aria-labelledby="consent">
          <h2 id="consent" style={{ marginTop: 0 }}>
            Consent history
          </h2>
          {profile.consentHistory?.length ? (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">E-mail</th>
                    <th scope="col">Source</th>
                  </tr>
                </thead>
                <tbody>
                  {profile.consentHistory.map((c) => (
                    <tr key={`${c.at}-${c.source}-${c.email}`}>
                      <td>{dateTime(c.at)}</td>
                      <td>{c.email ? 'granted' : 'withdrawn'}</td>
                      <td>{c.source}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p className="muted">No consent decision recorded.</p>
          )}
          <h2>Data rights</h2>
          <p>
            <a className="button secondary" href={`/profiles/${profile.id}/export`} download>
              Export as JSON
            </a>
          </p>
          <ConfirmDialog open="Erase this person…" title={`Erase ${label}?`}>
            <p>
              This deletes the profile, every event of the person (also their anonymous history), their campaign entries
              and delivery records. It cannot be undone.
            </p>
            <ActionForm action={eraseProfile} submit="Erase for ever" pending="Erasing…" danger label="Confirm erasure">
              <input type="hidden" name="id" value={profile.id} />
              <input type="hidden" name="label" value={label} />
              <label htmlFor="confirm">Type {label} to confirm</label>
              <input id="confirm" name="confirm" type="text" autoComplete="off" required />
            </ActionForm>
          </ConfirmDialog>
        </section>
      </div>
      <section className="panel" aria-labelledby="timeline">
        <h2 id="timeline" style={{ marginTop: 0 }}>
          Timeline
        </h2>
        {events.events.length ? (
          <EventList events={events.events} showProfile={false} />
        ) : (
          <p className="muted">No events linked yet.</p>
        )}
        {events.nextCursor ? (
          <p>
            <Link href={`/profiles/${profile.id}?cursor=${encodeURIComponent(events.nextCursor)}`}>Older events</Link>
          </p>
        ) : null}
      </section>
    </>
  );
}
