import { TrackMateError } from '../errors.js';
import type { Models } from '../models/index.js';
import { createSite } from './create-site.js';

export interface SitesCommandInput {
  sub: string | undefined;
  name?: string;
  origins: string[];
  json: boolean;
}

/** `trackmate-collector sites …`; returns what to print. Bad input throws TM_ERR_INVALID_SITE. */
export async function sitesCommand(models: Models, input: SitesCommandInput): Promise<string> {
  if (input.sub !== 'create') {
    throw new TrackMateError('TM_ERR_USAGE', {
      message: `unknown command "sites ${input.sub ?? ''}"; try: sites create --name NAME --origin URL`,
    });
  }
  if (!input.name) throw new TrackMateError('TM_ERR_USAGE', { message: 'sites create needs --name NAME' });
  const site = await createSite(models, { name: input.name, origins: input.origins });
  if (input.json) return `${JSON.stringify(site)}\n`;
  return (
    `site created: ${site.name}\n  siteId:    ${site.siteId}\n  writeKey:  ${site.writeKey}  (public, for the browser SDK)\n` +
    `  secretKey: ${site.secretKey}  (server SDK and admin API; shown once, only its hash is stored)\n` +
    `  origins:   ${site.allowedOrigins.join(', ') || '(none: browsers are refused until you add one)'}\n`
  );
}
