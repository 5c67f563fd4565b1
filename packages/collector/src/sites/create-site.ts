import { TrackMateError } from '../errors.js';
import type { Models } from '../models/index.js';
import { hashSecretKey, newSecretKey, newWriteKey } from './keys.js';
import { normalizeOrigin } from './origins.js';

export interface CreatedSite {
  siteId: string;
  name: string;
  writeKey: string;
  /** Shown once: only its hash is stored. */
  secretKey: string;
  /** Ingest-only secret key for backends that send events (shown once, hash stored). */
  ingestKey: string;
  allowedOrigins: string[];
}

const invalid = (message: string) => new TrackMateError('TM_ERR_INVALID_SITE', { message });

/** Creates a site with a new write key and secret key; origins are normalized to `scheme://host[:port]`. */
export async function createSite(models: Models, input: { name: string; origins: string[] }): Promise<CreatedSite> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw invalid('--name must be 1 to 200 characters');
  const allowedOrigins: string[] = [];
  for (const raw of input.origins) {
    const origin = normalizeOrigin(raw.trim());
    if (!origin) throw invalid(`--origin "${raw}" is not an http(s) origin such as https://shop.example`);
    if (!allowedOrigins.includes(origin)) allowedOrigins.push(origin);
  }
  const writeKey = newWriteKey();
  const secretKey = newSecretKey();
  const ingestKey = newSecretKey();
  const site = await models.Site.create({
    name,
    writeKey,
    secretKeyHash: hashSecretKey(secretKey),
    ingestKeyHash: hashSecretKey(ingestKey),
    allowedOrigins,
    createdAt: new Date(),
  });
  return { siteId: site._id.toString(), name, writeKey, secretKey, ingestKey, allowedOrigins };
}
