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

/** The `$set` / `$unset` of a change of secrets, sealed for this site (the context binds each to site and platform). */
export function integrationSecretsUpdate(
  box: SecretBox,
  siteId: string,
  change: IntegrationSecretsChange,
  now = new Date(),
): { set: Record<string, unknown>; unset: Record<string, ''> } {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = {};
  for (const [platform, value] of Object.entries(change) as Array<[string, string | null | undefined]>) {
    if (!(PLATFORMS as readonly string[]).includes(platform)) {
      throw invalid(`unknown platform "${platform}"; the platforms are ${PLATFORMS.join(', ')}`);
    }
    const p = platform as Platform;
    if (value === undefined) continue;
    if (value === null || value === '') unset[`integrations.${p}`] = '';
    else set[`integrations.${p}`] = { secret: box.seal(checkSecret(p, value), sealContext(siteId, p)), setAt: now };
  }
  return { set, unset };
}

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
