'use client';

import { useEffect } from 'react';

/**
 * A page whose data could not be loaded, most often because the collector is down or restarting. At the root, so
 * that it also catches the console layout (which loads the site).
 */
export default function ConsoleError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <main style={{ maxWidth: 720, margin: '0 auto' }}>
      <section className="panel" role="alert">
        <h1>This page could not be loaded</h1>
        <p>
          The console could not get its data from the collector. Check that the collector is running and reachable from
          the console (<code>TRACKMATE_COLLECTOR_URL</code>), then try again.
        </p>
        {error.digest ? <p className="hint">Error reference: {error.digest} (in the console server’s log)</p> : null}
        <button type="button" onClick={() => reset()}>
          Try again
        </button>
        <p>
          <a href="/sign-in">Sign in again</a>
        </p>
      </section>
    </main>
  );
}
