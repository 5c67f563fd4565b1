import type { Metadata } from 'next';
import { ActionForm } from '@/components/action-form';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { IntegrationsPanel } from '@/components/integrations-panel';
import { GettingStarted } from '@/components/snippet';
import { getIntegrations, getSite } from '@/lib/data';
import { dateTime } from '@/lib/format';
import { addOrigin, removeOrigin, rename, rotate, setOpenTracking, setPlatformSecret, setUrlParams } from './actions';

export const metadata: Metadata = { title: 'Site settings' };

export default async function SettingsPage() {
  const [site, integrations] = await Promise.all([getSite(), getIntegrations()]);
  return (
    <>
      <h1>Site settings</h1>
      <div className="grid">
        <section className="panel" aria-labelledby="site">
          <h2 id="site" style={{ marginTop: 0 }}>
            Site
          </h2>
          <dl className="facts">
            <dt>Site id</dt>
            <dd>
              <code>{site.siteId}</code>
            </dd>
            <dt>Write key</dt>
            <dd>
              <code data-testid="write-key">{site.writeKey}</code>{' '}
              <span className="muted">(public: it goes in your pages)</span>
            </dd>
            <dt>Created</dt>
            <dd>{dateTime(site.createdAt)}</dd>
          </dl>
          <ActionForm action={rename} submit="Rename" label="Rename the site">
            <label htmlFor="name">Name</label>
            <input id="name" name="name" defaultValue={site.name} required maxLength={200} />
          </ActionForm>
        </section>
        <section className="panel" aria-labelledby="origins">
          <h2 id="origins" style={{ marginTop: 0 }}>
            Allowed origins
          </h2>
          <p className="hint">Browsers may send events only from these origins (scheme://host[:port]).</p>
          {site.allowedOrigins.length ? (
            <ul className="plain">
              {site.allowedOrigins.map((o) => (
                <li key={o} className="row" style={{ alignItems: 'center' }}>
                  <code>{o}</code>
                  <ActionForm action={removeOrigin} submit="Remove" pending="…" label={`Remove ${o}`}>
                    <input type="hidden" name="origin" value={o} />
                  </ActionForm>
                </li>
              ))}
            </ul>
          ) : (
            <p className="error">No origin is allowed: browsers cannot send events yet. Add your site’s origin.</p>
          )}
          <ActionForm action={addOrigin} submit="Add origin" label="Add an origin">
            <label htmlFor="origin">Origin</label>
            <input id="origin" name="origin" type="url" required placeholder="https://shop.example" />
          </ActionForm>
        </section>
      </div>
      <section className="panel" aria-labelledby="url-params">
        <h2 id="url-params" style={{ marginTop: 0 }}>
          URL parameters
        </h2>
        <p className="hint">
          A form sent with GET puts what was typed (e-mail, name, tokens) into the address bar. Stored URLs keep only
          campaign tags (<code>utm_*</code>), click ids (<code>gclid</code>, <code>fbclid</code>, <code>msclkid</code>),{' '}
          <code>ref</code> and <code>source</code>, plus the names you add; or, for full URLs, everything except
          secret-looking names and the names you exclude. Give your pages the same additions (
          <code>data-url-params</code> or the SDK&apos;s <code>urlParams</code>).
        </p>
        <ActionForm action={setUrlParams} submit="Save URL rules" label="URL parameters">
          <label className="inline">
            <input type="radio" name="mode" value="allow" defaultChecked={site.urlParams.mode === 'allow'} /> keep only
            the allow-list and these names
          </label>
          <br />
          <label className="inline">
            <input type="radio" name="mode" value="full" defaultChecked={site.urlParams.mode === 'full'} /> keep full
            URLs except secret-looking names and the excluded ones
          </label>
          <label htmlFor="allow">Also keep (comma-separated)</label>
          <input id="allow" name="allow" defaultValue={site.urlParams.allow.join(', ')} placeholder="promo, variant" />
          <label htmlFor="deny">Never keep (comma-separated)</label>
          <input id="deny" name="deny" defaultValue={site.urlParams.deny.join(', ')} placeholder="customer" />
        </ActionForm>
      </section>
      <section className="panel" aria-labelledby="open-tracking">
        <h2 id="open-tracking" style={{ marginTop: 0 }}>
          E-mail open tracking
        </h2>
        <p className="hint">
          Off by default. When on, campaign and flow e-mails carry a 1×1 image on the collector, and a person&apos;s
          load of it is an <code>email_open</code> on their profile, counted in the results. It tells you when and
          roughly where someone read your e-mail, so say so in your privacy notice. Apple Mail loads every image of
          every message through its privacy proxy, opened or not: such loads, and scanners&apos;, are counted apart.
        </p>
        <ActionForm action={setOpenTracking} submit="Save" label="E-mail open tracking">
          <label className="inline">
            <input type="checkbox" name="emailOpenTracking" defaultChecked={site.emailOpenTracking} /> track opens of
            campaign and flow e-mails
          </label>
        </ActionForm>
      </section>
      <section className="panel" aria-labelledby="keys">
        <h2 id="keys" style={{ marginTop: 0 }}>
          Rotate keys
        </h2>
        <p>
          A leaked key is replaced here and stops working at once; for a routine rotation, keep the old keys working
          while you deploy the new ones. Rotating the secret key signs this console in with the new one.
        </p>
        <ConfirmDialog open="Rotate keys…" title="Rotate keys">
          <ActionForm action={rotate} submit="Rotate now" danger label="Rotate keys">
            <label className="inline">
              <input type="checkbox" name="write" /> write key (pk_…, in your pages)
            </label>
            <br />
            <label className="inline">
              <input type="checkbox" name="secret" /> secret key (sk_…, admin and server SDK)
            </label>
            <br />
            <label className="inline">
              <input type="checkbox" name="ingest" /> ingest-only key (server events only)
            </label>
            <label htmlFor="overlapSeconds">The old keys keep working</label>
            <select id="overlapSeconds" name="overlapSeconds" defaultValue="0">
              <option value="0">not at all (a key has leaked)</option>
              <option value="3600">for 1 hour</option>
              <option value="86400">for 1 day (time to deploy the new keys)</option>
              <option value="604800">for 7 days</option>
            </select>
          </ActionForm>
        </ConfirmDialog>
      </section>
      <IntegrationsPanel integrations={integrations} setSecret={setPlatformSecret} />
      <section className="panel" aria-labelledby="snippet">
        <h2 id="snippet" style={{ marginTop: 0 }}>
          Snippet
        </h2>
        <GettingStarted writeKey={site.writeKey} />
      </section>
    </>
  );
}
