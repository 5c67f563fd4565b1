import type { Metadata } from 'next';
import { ActionForm } from '@/components/action-form';
import { collectorUrl } from '@/lib/collector';
import { param } from '@/lib/format';
import { signIn } from '@/lib/session-actions';

export const metadata: Metadata = { title: 'Sign in' };

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const expired = param((await searchParams).expired);
  return (
    <main style={{ maxWidth: 560, margin: '0 auto' }}>
      <h1>TrackMate console</h1>
      <div className="panel">
        <h2 style={{ marginTop: 0 }}>Sign in with your site’s secret key</h2>
        {expired ? (
          <p className="error" role="alert">
            Your key is no longer valid (it may have been rotated). Sign in again.
          </p>
        ) : null}
        <ActionForm action={signIn} submit="Sign in" pending="Checking the key…" label="Sign in">
          <label htmlFor="secretKey">Secret key</label>
          <input id="secretKey" name="secretKey" type="password" autoComplete="off" placeholder="sk_…" required />
          <p className="hint">
            The key is kept in an httpOnly cookie for 12 hours and sent only to the collector at{' '}
            <code>{collectorUrl()}</code>.
          </p>
        </ActionForm>
      </div>
      <div className="panel">
        <h2 style={{ marginTop: 0 }}>No key yet?</h2>
        <p>Create a site on the machine that runs the collector; it prints the keys once:</p>
        <pre>npx @trackmate/collector sites create --name "My shop" --origin https://shop.example</pre>
        <p className="hint">
          With <code>npm start</code> in the TrackMate repository, the demo site’s keys are printed at start and kept in
          <code> .trackmate/demo-site.json</code>.
        </p>
      </div>
    </main>
  );
}
