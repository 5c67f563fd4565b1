import type { Platform, UrlParams } from '@trackmate/schema';
import { TrackMateError } from '../errors.js';
import type { Models, SiteDoc } from '../models/index.js';
import type { SecretBox } from '../plugins/secret-box.js';
import { parseId } from '../route-kit.js';
import { createSite } from './create-site.js';
import { type DeleteSiteDeps, deleteSite } from './delete-site.js';
import {
  type IntegrationSecretsChange,
  type IntegrationSecretsUpdate,
  integrationSecretsUpdate,
  integrationsView,
} from './integration-secrets.js';
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
  /** `update --consent-mode single|double|server`. */
  consentMode?: string;
  /** `update --url-params allow[:name,…] | full[:name,…]`: the URL rules (see parseUrlParams). */
  urlParams?: string;
  /** `update --shopify-secret S --woocommerce-secret S --stripe-secret whsec_…`: the platforms' webhook secrets. */
  secrets?: Partial<Record<Platform, string>>;
  /** `update --remove-secret PLATFORM`: that platform's webhooks are refused from then on. */
  removeSecrets?: string[];
  /** `rotate-key --overlap 24h`: how long the replaced keys keep working. */
  overlap?: string;
  /** `delete --yes`: the confirmation that everything of the site goes. */
  yes?: boolean;
  json: boolean;
}

/** True for an IANA time zone name this runtime knows. */
function knownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const usage = (message: string) => new TrackMateError('TM_ERR_USAGE', { message });
const CONSENT_MODES = ['single', 'double', 'server'] as const;

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
  const site = await models.Site.findById(parseId(id, 'site id')).lean();
  if (!site) throw invalid(`no site ${id}`);
  return site;
}

/**
 * Name, allowed origins, consent mode and shop platform secrets of a site, changed (`box` seals the secrets);
 * returns the site as it now is.
 */
export async function updateSite(
  models: Models,
  site: SiteDoc,
  change: {
    name?: string;
    addOrigins?: string[];
    removeOrigins?: string[];
    consentMode?: string;
    urlParams?: Partial<UrlParams>;
    integrationSecrets?: IntegrationSecretsChange;
    timezone?: string;
    attributionLookbackDays?: number;
    emailOpenTracking?: boolean;
  },
  box?: () => Promise<SecretBox>,
): Promise<SiteDoc> {
  let set: Partial<SiteDoc> & IntegrationSecretsUpdate['set'] = {};
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
  if (change.consentMode !== undefined) {
    const mode = CONSENT_MODES.find((m) => m === change.consentMode);
    if (!mode) throw invalid(`the consent mode is single, double or server; got "${change.consentMode}"`);
    set.consentMode = mode;
  }
  if (change.urlParams !== undefined) set.urlParams = urlParamsOf(site, change.urlParams);
  if (change.timezone !== undefined) {
    if (!knownTimeZone(change.timezone))
      throw invalid(`the time zone is an IANA name such as Europe/Berlin; got "${change.timezone}"`);
    set.timezone = change.timezone;
  }
  if (change.attributionLookbackDays !== undefined) {
    const days = change.attributionLookbackDays;
    if (!Number.isInteger(days) || days < 1 || days > 90)
      throw invalid(`the attribution lookback is 1 to 90 days; got ${days}`);
    set.attributionLookbackDays = days;
  }
  if (change.emailOpenTracking !== undefined) set.emailOpenTracking = change.emailOpenTracking;
  const secrets = change.integrationSecrets ?? {};
  let unset: IntegrationSecretsUpdate['unset'] = {};
  if (Object.values(secrets).some((v) => v !== undefined)) {
    if (!box) throw usage('platform secrets cannot be changed here');
    const update = integrationSecretsUpdate(await box(), site._id.toHexString(), secrets);
    set = { ...set, ...update.set };
    unset = update.unset;
  }
  if (!Object.keys(set).length && !Object.keys(unset).length) {
    throw usage(
      'nothing to change: give a name, origins to add or remove, a consent mode, URL rules or a platform secret',
    );
  }
  await models.Site.updateOne(
    { _id: site._id },
    { ...(Object.keys(set).length ? { $set: set } : {}), ...(Object.keys(unset).length ? { $unset: unset } : {}) },
  );
  const updated = await models.Site.findById(site._id).lean();
  if (!updated) throw invalid(`no site ${site._id.toHexString()}`);
  return updated;
}

/** A site's URL rules with `change` applied (fields given replace theirs), names lower-cased and checked. */
function urlParamsOf(site: SiteDoc, change: Partial<UrlParams>): UrlParams {
  const names = (list: string[] | undefined, fallback: string[]) => {
    if (list === undefined) return fallback;
    if (list.length > 100) throw invalid('URL rules name at most 100 parameters');
    const out = list.map((n) => n.trim().toLowerCase());
    const bad = out.find((n) => !/^[^\s&=#]{1,64}$/.test(n));
    if (bad !== undefined)
      throw invalid(`"${bad}" is not a query parameter name (1 to 64 characters, no & = # or space)`);
    return [...new Set(out)];
  };
  const mode = change.mode ?? (site.urlParams?.mode === 'full' ? 'full' : 'allow');
  if (mode !== 'allow' && mode !== 'full') throw invalid(`the URL mode is allow or full; got "${mode}"`);
  return {
    mode,
    allow: names(change.allow, site.urlParams?.allow ?? []),
    deny: names(change.deny, site.urlParams?.deny ?? []),
  };
}

/**
 * `--url-params allow` (only campaign tags and click ids), `--url-params allow:promo,variant` (and these),
 * `--url-params full` (every parameter but secret-looking ones) or `--url-params full:customer,ref` (and not
 * these). The names given replace the mode's list.
 */
export function parseUrlParams(raw: string): Partial<UrlParams> {
  const m = /^(allow|full)(?::(.*))?$/.exec(raw.trim());
  if (!m) throw usage(`--url-params must be allow[:name,…] or full[:name,…]; got "${raw}"`);
  const mode = m[1] as UrlParams['mode'];
  const list = (m[2] ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  return mode === 'allow' ? { mode, allow: list } : { mode, deny: list };
}

/** Longest overlap a rotation may give the old keys. */
export const MAX_OVERLAP_MS = 30 * 86_400_000;

/** `--overlap 24h`: a number of seconds, minutes, hours or days (`90s`, `30m`, `24h`, `7d`; `0` = none). */
export function parseOverlap(raw: string): number {
  const m = /^(\d{1,7})([smhd]?)$/.exec(raw.trim());
  const unit = { '': 1_000, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m?.[2] ?? ''];
  const ms = m && unit ? Number(m[1]) * unit : Number.NaN;
  if (!Number.isFinite(ms) || ms > MAX_OVERLAP_MS) {
    throw usage(`--overlap must be a duration such as 30m, 24h or 7d, at most 30d; got "${raw}"`);
  }
  return ms;
}

export interface RotatedKeys {
  siteId: string;
  writeKey?: string;
  secretKey?: string;
  ingestKey?: string;
  /** When the replaced keys stop working, if the rotation gave them an overlap. */
  oldKeysValidUntil?: string;
}

/** A key replaced by a rotation, still accepted until its overlap ends. */
type RetiredKey = { kind: 'write' | 'secret' | 'ingest'; value: string; until: Date };

/**
 * New keys for a site; secret keys are returned once, only their hash is stored. With `overlapMs`, the replaced
 * keys keep working until then (time to deploy the new ones); without, they stop at once.
 */
export async function rotateKeys(
  models: Models,
  site: SiteDoc,
  which: { write: boolean; secret: boolean; ingest?: boolean; overlapMs?: number },
  now = Date.now(),
): Promise<RotatedKeys> {
  if (!which.write && !which.secret && !which.ingest)
    throw usage('rotate the write key, the secret key, the ingest key');
  const overlap = which.overlapMs ?? 0;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_MS) {
    throw usage('the overlap must be from 0 to 30 days');
  }
  const out: RotatedKeys = { siteId: site._id.toHexString() };
  const set: Partial<Pick<SiteDoc, 'writeKey' | 'secretKeyHash' | 'ingestKeyHash'>> & { retiredKeys?: RetiredKey[] } =
    {};
  const until = new Date(now + overlap);
  const retired: RetiredKey[] = (site.retiredKeys ?? [])
    .filter((k) => new Date(k.until).getTime() > now)
    .map(({ kind, value, until }) => ({ kind, value, until }));
  const retire = (kind: 'write' | 'secret' | 'ingest', value: string | null | undefined) => {
    if (overlap > 0 && value) retired.push({ kind, value, until });
  };
  if (which.write) {
    retire('write', site.writeKey);
    set.writeKey = out.writeKey = newWriteKey();
  }
  if (which.secret) {
    retire('secret', site.secretKeyHash);
    out.secretKey = newSecretKey();
    set.secretKeyHash = hashSecretKey(out.secretKey);
  }
  if (which.ingest) {
    retire('ingest', site.ingestKeyHash);
    out.ingestKey = newSecretKey();
    set.ingestKeyHash = hashSecretKey(out.ingestKey);
  }
  set.retiredKeys = retired;
  if (overlap > 0) out.oldKeysValidUntil = until.toISOString();
  await models.Site.updateOne({ _id: site._id }, { $set: set });
  return out;
}

export const siteView = (s: SiteDoc) => ({
  siteId: s._id.toHexString(),
  name: s.name,
  writeKey: s.writeKey,
  allowedOrigins: s.allowedOrigins ?? [],
  consentMode: s.consentMode ?? 'single',
  timezone: s.timezone ?? 'UTC',
  attributionLookbackDays: s.attributionLookbackDays ?? 30,
  emailOpenTracking: s.emailOpenTracking === true,
  urlParams: {
    mode: s.urlParams?.mode === 'full' ? ('full' as const) : ('allow' as const),
    allow: s.urlParams?.allow ?? [],
    deny: s.urlParams?.deny ?? [],
  },
  integrations: integrationsView(s),
  createdAt: s.createdAt ? new Date(s.createdAt).toISOString() : null,
});

/**
 * `trackmate-collector sites create | list | update | rotate-key | revoke | delete`; returns what to print. Secret
 * keys are shown once, when made; only their hash is stored.
 */
export async function sitesCommand(
  models: Models,
  input: SitesCommandInput,
  /** Redis and the queues, opened only by `sites delete` (the other commands need MongoDB alone). */
  openQueues?: () => Promise<{ deps: Omit<DeleteSiteDeps, 'models'>; close(): Promise<void> }>,
  /** What seals the platforms' secrets (`sites update --shopify-secret …`). */
  box?: () => Promise<SecretBox>,
): Promise<string> {
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
      const sites = (await models.Site.find({}).sort({ _id: 1 }).lean()).map(siteView);
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
        await updateSite(
          models,
          site,
          {
            name: input.name,
            addOrigins: input.addOrigins,
            removeOrigins: input.removeOrigins,
            consentMode: input.consentMode,
            urlParams: input.urlParams === undefined ? undefined : parseUrlParams(input.urlParams),
            integrationSecrets: {
              ...input.secrets,
              ...Object.fromEntries((input.removeSecrets ?? []).map((p) => [p, null])),
            },
          },
          box,
        ),
      );
      const rules = updated.urlParams;
      const urls =
        rules.mode === 'allow'
          ? `allow-list: campaign tags and click ids${rules.allow.length ? `, ${rules.allow.join(', ')}` : ''}`
          : `full, without secret-looking names${rules.deny.length ? ` and ${rules.deny.join(', ')}` : ''}`;
      const platforms = Object.entries(updated.integrations)
        .map(([p, s]) => `${p} ${s.secretSet ? `set ${s.setAt}` : 'not set'}`)
        .join(', ');
      return input.json
        ? `${JSON.stringify(updated)}\n`
        : `site updated: ${updated.name}\n  origins: ${updated.allowedOrigins.join(', ') || '(none)'}\n` +
            `  consent from browsers: ${updated.consentMode} opt-in\n  URL parameters: ${urls}\n` +
            `  platform secrets: ${platforms}\n  (${CACHE_NOTE})\n`;
    }
    case 'rotate-key': {
      const site = await siteOf(models, input.id);
      if (!input.write && !input.secret && !input.ingest) {
        throw usage('sites rotate-key needs --write, --secret or --ingest (or several)');
      }
      const overlapMs = input.overlap === undefined ? 0 : parseOverlap(input.overlap);
      const out = await rotateKeys(models, site, { ...input, overlapMs });
      if (input.json) return `${JSON.stringify(out)}\n`;
      const old = out.oldKeysValidUntil
        ? `the old ones keep working until ${out.oldKeysValidUntil}`
        : `the old ones stop working (${CACHE_NOTE})`;
      return (
        `keys rotated for ${site.name}; ${old}\n` +
        (out.writeKey ? `  writeKey:  ${out.writeKey}  (update the snippet or SDK init)\n` : '') +
        (out.secretKey ? `  secretKey: ${out.secretKey}  (shown once)\n` : '') +
        (out.ingestKey ? `  ingestKey: ${out.ingestKey}  (shown once)\n` : '')
      );
    }
    case 'delete': {
      const site = await siteOf(models, input.id);
      if (!input.yes) {
        throw usage(
          `sites delete removes ${site.name} (${site._id.toHexString()}) with every event, profile, trigger, ` +
            'webhook and delivery it holds, and cannot be undone: add --yes to go ahead (export people first: GET /api/profiles/ID/export)',
        );
      }
      if (!openQueues) throw usage('sites delete needs Redis (REDIS_URL)');
      const services = await openQueues();
      try {
        const result = await deleteSite({ models, ...services.deps }, site._id);
        if (input.json) return `${JSON.stringify(result)}\n`;
        const counts = Object.entries(result.deleted)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        return (
          `site ${site.name} (${result.siteId}) deleted: ${counts}\n` +
          `  its keys no longer work (${CACHE_NOTE}); events of the site still arriving are dropped for 30 days\n`
        );
      } finally {
        await services.close();
      }
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
            retiredKeys: [],
          },
        },
      );
      return `keys of ${site.name} revoked: no browser or server can send or read (${CACHE_NOTE}); rotate-key --write --secret to issue new ones\n`;
    }
    default:
      throw usage(
        `unknown command "sites ${input.sub ?? ''}"; try: sites create --name NAME --origin URL | sites list | ` +
          'sites update --id ID [--add-origin URL] [--remove-origin URL] [--consent-mode single|double|server] [--url-params allow|full[:names]] [--shopify-secret S] [--woocommerce-secret S] [--stripe-secret whsec_…] [--remove-secret PLATFORM] | sites rotate-key --id ID --write|--secret|--ingest [--overlap 24h] | ' +
          'sites revoke --id ID | sites delete --id ID --yes',
      );
  }
}
