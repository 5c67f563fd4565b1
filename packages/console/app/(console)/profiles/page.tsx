import type { Metadata } from 'next';
import Link from 'next/link';
import { api } from '@/lib/collector';
import { dateTime, param } from '@/lib/format';
import { type Profile, personLabel } from '@/lib/types';

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
  const qs = new URLSearchParams({ limit: '50' });
  if (email) qs.set('q', email);
  else if (cursor) qs.set('cursor', cursor);
  type Page = { profiles: Profile[]; nextCursor: string | null };
  // a search box: what was typed is the start of an e-mail address, or (without an @) the shop's user id
  const [page, byUserId] = await Promise.all([
    api<Page>('GET', email ? `/api/profiles/search?${qs}` : `/api/profiles?${qs}`),
    email && !email.includes('@')
      ? api<Page>('GET', `/api/profiles?${new URLSearchParams({ userId: email })}`).catch(() => undefined)
      : undefined,
  ]);
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
        <div className="panel table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Person</th>
                <th scope="col">Name</th>
                <th scope="col">E-mail consent</th>
                <th scope="col" className="hide-narrow">
                  Created
                </th>
              </tr>
            </thead>
            <tbody>
              {page.profiles.map((p) => (
                <tr key={p.id}>
                  <td className="break">
                    <Link href={`/profiles/${p.id}`}>{personLabel(p)}</Link>
                  </td>
                  <td>{[p.firstName, p.lastName].filter(Boolean).join(' ') || '—'}</td>
                  <td>
                    <span className={`badge ${p.consent.email ? 'on' : 'off'}`}>{p.consent.email ? 'yes' : 'no'}</span>
                  </td>
                  <td className="hide-narrow">{dateTime(p.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : email ? (
        <p className="empty">No profile’s e-mail starts with “{email}”.</p>
      ) : (
        <div className="empty">
          <h2 style={{ marginTop: 0 }}>No profiles yet</h2>
          <p>
            A profile is made when a visitor gives an e-mail: a form with an e-mail field (form_submit), an{' '}
            <code>identify()</code> call, or a server event carrying a profile, such as an order:
          </p>
          <pre>{`import { identify } from '@trackmate/browser';
identify('ada@example.com', { firstName: 'Ada', consent: true });`}</pre>
        </div>
      )}
      {page.nextCursor && !email ? (
        <p>
          <Link href={`/profiles?cursor=${page.nextCursor}`}>Older profiles</Link>
        </p>
      ) : null}
    </>
  );
}
