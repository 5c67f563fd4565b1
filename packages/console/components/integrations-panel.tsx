import type { Integrations } from '@trackmate/schema';
import { dateTime } from '../lib/format';
import type { FormState } from '../lib/session-actions';
import { ActionForm } from './action-form';
import { DataTable } from './data-table';

const NAMES = { shopify: 'Shopify', woocommerce: 'WooCommerce', stripe: 'Stripe' } as const;
const SECRET_HINT = {
  shopify: 'Settings → Notifications → Webhooks: “Your webhooks will be signed with …”',
  woocommerce: 'WooCommerce → Settings → Advanced → Webhooks: the webhook’s Secret',
  stripe: 'Developers → Webhooks → your endpoint: Signing secret (whsec_…)',
} as const;

/**
 * The shop platforms' order webhooks: for each, the URL to paste into the platform, its secret (set or
 * removed here, never shown), how many deliveries ended each way and the last ones (docs/integrations.md).
 */
export function IntegrationsPanel({
  integrations,
  setSecret,
}: {
  integrations: Integrations;
  setSecret: (prev: FormState, form: FormData) => Promise<FormState>;
}) {
  return (
    <section className="panel" aria-labelledby="integrations">
      <h2 id="integrations" style={{ marginTop: 0 }}>
        Shop platforms
      </h2>
      <p className="hint">
        Orders and refunds from Shopify, WooCommerce and Stripe, without code: paste the URL into the platform’s webhook
        settings and its secret here. Deliveries with a wrong signature are refused.
      </p>
      {integrations.platforms.map((p) => (
        <div key={p.platform} data-platform={p.platform} style={{ marginTop: 16 }}>
          <h3>{NAMES[p.platform]}</h3>
          <dl className="facts">
            <dt>Webhook URL</dt>
            <dd>
              <code className="break">{p.url}</code>
            </dd>
            <dt>Secret</dt>
            <dd data-testid={`${p.platform}-secret`}>{p.secretSet ? `set ${dateTime(p.setAt)}` : 'not set'}</dd>
            <dt>Deliveries</dt>
            <dd>
              {Object.entries(p.counts)
                .filter(([, n]) => n > 0)
                .map(([outcome, n]) => `${n} ${outcome}`)
                .join(' · ') || 'none yet'}
            </dd>
          </dl>
          <ActionForm action={setSecret} submit="Save secret" label={`${NAMES[p.platform]} secret`}>
            <input type="hidden" name="platform" value={p.platform} />
            <label htmlFor={`${p.platform}-secret-input`}>Secret</label>
            <input
              id={`${p.platform}-secret-input`}
              name="secret"
              type="password"
              autoComplete="off"
              placeholder={SECRET_HINT[p.platform]}
            />
            <label className="inline">
              <input type="checkbox" name="remove" /> remove the secret
            </label>
          </ActionForm>
          {p.deliveries.length ? (
            <DataTable
              stack
              rows={p.deliveries}
              rowKey={(d) => `${d.at}-${d.topic}-${d.outcome}-${d.orderId ?? ''}`}
              rowData={(d) => ({ 'data-outcome': d.outcome })}
              columns={[
                { header: 'When', style: { whiteSpace: 'nowrap' }, cell: (d) => dateTime(d.at) },
                { header: 'Topic', cell: (d) => d.topic },
                { header: 'Outcome', cell: (d) => <span className={`badge ${d.outcome}`}>{d.outcome}</span> },
                { header: 'Order', cellClassName: 'break', cell: (d) => d.orderId ?? '' },
                { header: 'Answer', cellClassName: 'break', cell: (d) => `${d.status} ${d.reason ?? ''}` },
              ]}
            />
          ) : null}
        </div>
      ))}
    </section>
  );
}
