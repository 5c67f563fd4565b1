import { PLATFORMS, type Platform, type SiteIntegrations } from '@trackmate/schema';
import { TrackMateError } from '../errors.js';
import type { SiteDoc } from '../models/index.js';
import type { SecretBox } from '../plugins/secret-box.js';

/** New secrets per platform; null removes one (its webhooks are then refused). */
export type IntegrationSecretsChange = Partial<Record<Platform, string | null>>;

const invalid = (message: string) => new TrackMateError('TM_ERR_INVALID_SITE', { message });

/** What a platform's webhook secret looks like, checked when it is set (a typo then fails here, not on every order). */
function checkSecret(platform: Platform, raw: string): string {
  const secret = raw.trim();
  if (secret.length < 8 || secret.length > 512 || /\s/.test(secret)) {
    throw invalid(`the ${platform} secret must be 8 to 512 characters without spaces`);
  }
  if (platform === 'stripe' && !secret.startsWith('whsec_')) {
    throw invalid("the stripe secret is the endpoint's signing secret, whsec_… (Developers → Webhooks → the endpoint)");
  }
  return secret;
}

/** The path of a platform's sealed secret in a site document. */
type SecretPath = `integrations.${Platform}`;

export interface IntegrationSecretsUpdate {
  set: Partial<Record<SecretPath, { secret: string; setAt: Date }>>;
  unset: Partial<Record<SecretPath, ''>>;
}

/** The `$set` / `$unset` of a change of secrets, sealed for this site (the context binds each to site and platform). */
export function integrationSecretsUpdate(
  box: SecretBox,
  siteId: string,
  change: IntegrationSecretsChange,
  now = new Date(),
): IntegrationSecretsUpdate {
  const set: IntegrationSecretsUpdate['set'] = {};
  const unset: IntegrationSecretsUpdate['unset'] = {};
  for (const [platform, value] of Object.entries(change)) {
    if (!isPlatform(platform)) {
      throw invalid(`unknown platform "${platform}"; the platforms are ${PLATFORMS.join(', ')}`);
    }
    if (value === undefined) continue;
    if (value === null || value === '') unset[`integrations.${platform}`] = '';
    else {
      const secret = box.seal(checkSecret(platform, value), sealContext(siteId, platform));
      set[`integrations.${platform}`] = { secret, setAt: now };
    }
  }
  return { set, unset };
}

/** A shop platform's name (a route parameter, a key of a change). */
export const isPlatform = (name: string): name is Platform => PLATFORMS.some((p) => p === name);

export const sealContext = (siteId: string, platform: Platform) => `${siteId}:${platform}`;

/** A site's platform secret in the clear, or undefined when none is set or it does not open (another signing secret). */
export function integrationSecret(box: SecretBox, site: Pick<SiteDoc, '_id' | 'integrations'>, platform: Platform) {
  const sealed = site.integrations?.[platform]?.secret;
  return sealed ? box.open(sealed, sealContext(site._id.toHexString(), platform)) : undefined;
}

/** Which platforms have a secret, and since when; never the secrets. */
export function integrationsView(site: Pick<SiteDoc, 'integrations'>): SiteIntegrations {
  return Object.fromEntries(
    PLATFORMS.map((p) => {
      const setAt = site.integrations?.[p]?.setAt;
      return [
        p,
        { secretSet: Boolean(site.integrations?.[p]?.secret), setAt: setAt ? new Date(setAt).toISOString() : null },
      ];
    }),
  ) as SiteIntegrations;
}
