import type { Metadata } from 'next';
import Link from 'next/link';
import { DataTable } from '@/components/data-table';
import { EmptyState } from '@/components/empty-state';
import { getProfiles, getProfilesByUserId, searchProfiles } from '@/lib/data';
import { dateTime, param, personLabel } from '@/lib/format';

export const metadata: Metadata = { title: 'Profiles' };

export default async function ProfilesPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const sp = await searchParams;
  const email = param(sp.email)?.trim();
  const cursor = param(sp.cursor);
  const erased = param(sp.erased);
  // a search box: what was typed is the start of an e-mail address, or (without an @) the shop's user id
  const [found, byUserId] = await Promise.all([
    email ? searchProfiles(email) : getProfiles(cursor),
    email && !email.includes('@') ? getProfilesByUserId(email).catch(() => undefined) : undefined,
  ]);
  const page = { ...found, profiles: [...found.profiles] };
  for (const p of byUserId?.profiles ?? []) if (!page.profiles.some((q) => q.id === p.id)) page.profiles.unshift(p);

  return (
    <>
      <h1>Profiles</h1>
      {erased ? (
        <p className="success" role="status">
          {erased} was erased ({param(sp.events) ?? 0} events deleted).
        </p>
      ) : null}
      <search>
        <form method="get" className="panel row" aria-label="Find a profile">
          <div style={{ flex: '1 1 260px' }}>
            <label htmlFor="email">E-mail address, or its start</label>
            <input
              id="email"
              name="email"
              type="search"
              defaultValue={email}
              placeholder="ada@"
              maxLength={254}
              aria-describedby="search-hint"
            />
            <p id="search-hint" className="hint">
              Or a user id of your shop.
            </p>
          </div>
          <button type="submit">Find</button>
          {email ? (
            <Link className="button secondary" href="/profiles">
              All profiles
            </Link>
          ) : null}
        </form>
      </search>
      {page.profiles.length ? (
        <DataTable
          panel
          rows={page.profiles}
          rowKey={(p) => p.id}
          columns={[
            {
              header: 'Person',
              cellClassName: 'break',
              cell: (p) => <Link href={`/profiles/${p.id}`}>{personLabel(p)}</Link>,
            },
            { header: 'Name', cell: (p) => [p.firstName, p.lastName].filter(Boolean).join(' ') || '—' },
            {
              header: 'E-mail consent',
              cell: (p) => (
                <span className={`badge ${p.consent.email ? 'on' : 'off'}`}>{p.consent.email ? 'yes' : 'no'}</span>
              ),
            },
            { header: 'Created', className: 'hide-narrow', cell: (p) => dateTime(p.createdAt) },
          ]}
        />
      ) : email ? (
        <p className="empty">No profile’s e-mail starts with “{email}”.</p>
      ) : (
        <EmptyState title="No profiles yet">
          <p>
            A profile is made when a visitor gives an e-mail: a form with an e-mail field (form_submit), an{' '}
            <code>identify()</code> call, or a server event carrying a profile, such as an order:
          </p>
          <pre>{`import { identify } from '@trackmate/browser';
identify('ada@example.com', { firstName: 'Ada', consent: true });`}</pre>
        </EmptyState>
      )}
      {page.nextCursor && !email ? (
        <p>
          <Link href={`/profiles?cursor=${page.nextCursor}`}>Older profiles</Link>
        </p>
      ) : null}
    </>
  );
}
