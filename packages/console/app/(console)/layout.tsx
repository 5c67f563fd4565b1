import type { ReactNode } from 'react';
import { Nav } from '@/components/nav';
import { getSite } from '@/lib/data';
import { signOut } from '@/lib/session-actions';

/** Every console page: the signed-in site (its key in the session cookie) and the navigation. */
export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const site = await getSite();
  return (
    <div className="shell">
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="sidebar">
        <p className="brand">TrackMate</p>
        <p className="site-name">
          {site.name} <span className="sr-only">site</span>
        </p>
        <Nav />
        <form action={signOut}>
          <button type="submit" className="secondary">
            Sign out
          </button>
        </form>
      </header>
      <main id="content">{children}</main>
    </div>
  );
}
