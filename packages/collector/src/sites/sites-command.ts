import { TrackMateError } from '../errors.js';
import type { Models, SiteDoc } from '../models/index.js';
import { parseId } from '../route-kit.js';
import { createSite } from './create-site.js';
import { hashSecretKey, newSecretKey, newWriteKey } from './keys.js';
import { normalizeOrigin } from './origins.js';

export interface SitesCommandInput {
  sub: string | undefined;
  id?: string;
  name?: string;
  origins: string[];
  addOrigins: string[];
  removeOrigins: string[];
  write: boolean;
  secret: boolean;
  ingest: boolean;
  json: boolean;
}

const usage = (message: string) => new TrackMateError('TM_ERR_USAGE', { message });
const invalid = (message: string) => new TrackMateError('TM_ERR_INVALID_SITE', { message });

/** How long a running collector may still accept a replaced key: its key cache's lifetime. */
const CACHE_NOTE = 'collectors already running accept the old key for up to 30 s (their key cache)';

function origin(raw: string): string {
  const o = normalizeOrigin(raw.trim());
  if (!o) throw invalid(`"${raw}" is not an http(s) origin such as https://shop.example`);
  return o;
}

async function siteOf(models: Models, id: string | undefined): Promise<SiteDoc> {
  if (!id) throw usage('this command needs --id SITE_ID (see: sites list)');
  const site = await models.Site.findById(parseId(id, 'site id')).lean<SiteDoc>();
  if (!site) throw invalid(`no site ${id}`);
  return site;
}

/** Name and allowed origins of a site, changed; returns the site as it now is. */
export async function updateSite(
  models: Models,
  site: SiteDoc,
  change: { name?: string; addOrigins?: string[]; removeOrigins?: string[] },
): Promise<SiteDoc> {
  const set: Record<string, unknown> = {};
  if (change.name !== undefined) {
    const name = change.name.trim();
    if (!name || name.length > 200) throw invalid('--name must be 1 to 200 characters');
    set.name = name;
  }
  if (change.addOrigins?.length || change.removeOrigins?.length) {
    const removed = new Set((change.removeOrigins ?? []).map(origin));
    const origins = [...(site.allowedOrigins ?? []), ...(change.addOrigins ?? []).map(origin)].filter(
      (o) => !removed.has(o),
    );
    set.allowedOrigins = [...new Set(origins)];
  }
  if (!Object.keys(set).length) throw usage('nothing to change: give a name, origins to add or origins to remove');
  await models.Site.updateOne({ _id: site._id }, { $set: set });
  return { ...site, ...set } as SiteDoc;
}

/** New keys for a site; the secret key is returned once, only its hash is stored. */
export async function rotateKeys(
  models: Models,
  site: SiteDoc,
  which: { write: boolean; secret: boolean; ingest?: boolean },
): Promise<{ siteId: string; writeKey?: string; secretKey?: string; ingestKey?: string }> {
  if (!which.write && !which.secret && !which.ingest)
    throw usage('rotate the write key, the secret key, the ingest key');
  const out: { siteId: string; writeKey?: string; secretKey?: string; ingestKey?: string } = {
    siteId: site._id.toHexString(),
  };
  const set: Record<string, string> = {};
  if (which.write) set.writeKey = out.writeKey = newWriteKey();
  if (which.secret) {
    out.secretKey = newSecretKey();
    set.secretKeyHash = hashSecretKey(out.secretKey);
  }
  if (which.ingest) {
    out.ingestKey = newSecretKey();
    set.ingestKeyHash = hashSecretKey(out.ingestKey);
  }
  await models.Site.updateOne({ _id: site._id }, { $set: set });
  return out;
}

export const siteView = (s: SiteDoc) => ({
  siteId: s._id.toHexString(),
  name: s.name,
  writeKey: s.writeKey,
  allowedOrigins: s.allowedOrigins ?? [],
  createdAt: s.createdAt ? new Date(s.createdAt).toISOString() : null,
});

/**
 * `trackmate-collector sites create | list | update | rotate-key | revoke`; returns what to print. Secret
 * keys are shown once, when made; only their hash is stored.
 */
export async function sitesCommand(models: Models, input: SitesCommandInput): Promise<string> {
  switch (input.sub) {
    case 'create': {
      if (!input.name) throw usage('sites create needs --name NAME');
      const site = await createSite(models, { name: input.name, origins: input.origins });
      if (input.json) return `${JSON.stringify(site)}\n`;
      return (
        `site created: ${site.name}\n  siteId:    ${site.siteId}\n  writeKey:  ${site.writeKey}  (public, for the browser SDK)\n` +
        `  secretKey: ${site.secretKey}  (admin API and server SDK; shown once, only its hash is stored)\n` +
        `  ingestKey: ${site.ingestKey}  (server SDK only: sends events, reads nothing; shown once)\n` +
        `  origins:   ${site.allowedOrigins.join(', ') || '(none: browsers are refused until you add one)'}\n`
      );
    }
    case 'list': {
      const sites = (await models.Site.find({}).sort({ _id: 1 }).lean<SiteDoc[]>()).map(siteView);
      if (input.json) return sites.map((s) => `${JSON.stringify(s)}\n`).join('');
      if (!sites.length) return 'no sites yet: trackmate-collector sites create --name NAME --origin URL\n';
      return sites
        .map(
          (s) =>
            `${s.siteId}  ${s.name}\n  writeKey: ${s.writeKey}\n  origins:  ${s.allowedOrigins.join(', ') || '(none)'}\n`,
        )
        .join('');
    }
    case 'update': {
      const site = await siteOf(models, input.id);
      const updated = siteView(
        await updateSite(models, site, {
          name: input.name,
          addOrigins: input.addOrigins,
          removeOrigins: input.removeOrigins,
        }),
      );
      return input.json
        ? `${JSON.stringify(updated)}\n`
        : `site updated: ${updated.name}\n  origins: ${updated.allowedOrigins.join(', ') || '(none)'}\n  (${CACHE_NOTE})\n`;
    }
    case 'rotate-key': {
      const site = await siteOf(models, input.id);
      if (!input.write && !input.secret && !input.ingest) {
        throw usage('sites rotate-key needs --write, --secret or --ingest (or several)');
      }
      const out = await rotateKeys(models, site, input);
      if (input.json) return `${JSON.stringify(out)}\n`;
      return (
        `keys rotated for ${site.name}; the old ones stop working (${CACHE_NOTE})\n` +
        (out.writeKey ? `  writeKey:  ${out.writeKey}  (update the snippet or SDK init)\n` : '') +
        (out.secretKey ? `  secretKey: ${out.secretKey}  (shown once)\n` : '') +
        (out.ingestKey ? `  ingestKey: ${out.ingestKey}  (shown once)\n` : '')
      );
    }
    case 'revoke': {
      // both keys replaced by ones nobody is told: the site and its data stay, nothing can reach them
      const site = await siteOf(models, input.id);
      await models.Site.updateOne(
        { _id: site._id },
        {
          $set: {
            writeKey: newWriteKey(),
            secretKeyHash: hashSecretKey(newSecretKey()),
            ingestKeyHash: hashSecretKey(newSecretKey()),
            allowedOrigins: [],
          },
        },
      );
      return `keys of ${site.name} revoked: no browser or server can send or read (${CACHE_NOTE}); rotate-key --write --secret to issue new ones\n`;
    }
    default:
      throw usage(
        `unknown command "sites ${input.sub ?? ''}"; try: sites create --name NAME --origin URL | sites list | ` +
          'sites update --id ID [--add-origin URL] [--remove-origin URL] | sites rotate-key --id ID --write|--secret|--ingest | sites revoke --id ID',
      );
  }
}
