import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { TrackMateError } from '../errors.js';
import { isDuplicateKey, type Models } from '../models/index.js';

/**
 * The installation's signing secret: TRACKMATE_SIGNING_SECRET, else one generated at first start and kept in
 * the `settings` collection, so links signed before a restart (or by another process) still verify.
 */
export async function loadSigningSecret(models: Models, config: Config): Promise<string> {
  if (config.signingSecret) return config.signingSecret;
  const generated = randomBytes(32).toString('base64url');
  await models.Setting.create({ _id: 'signingSecret', value: generated, createdAt: new Date() }).catch((err) => {
    if (!isDuplicateKey(err)) throw err; // another process generated it first: use theirs
  });
  const doc = await models.Setting.findById('signingSecret').lean();
  if (!doc) throw new TrackMateError('TM_ERR_DATABASE', { message: 'The signing secret is missing from settings' });
  return doc.value;
}

/**
 * Secrets that must be read back to be used (the shop platforms' webhook secrets: an HMAC key cannot be
 * checked against a hash), sealed with AES-256-GCM under a key derived from the signing secret. `context`
 * (e.g. `<siteId>:shopify`) is authenticated with the text, so a sealed value copied to another site or
 * platform does not open. With TRACKMATE_SIGNING_SECRET set, a copy of the database alone cannot open them.
 */
export interface SecretBox {
  seal(plain: string, context: string): string;
  /** The plain text, or undefined when the value does not open (another signing secret, or altered). */
  open(sealed: string, context: string): string | undefined;
}

const VERSION = 'v1';

export function secretBox(signingSecret: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', signingSecret, 'trackmate', 'sealed secrets v1', 32));
  return {
    seal(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context));
      const text = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, iv, cipher.getAuthTag(), text]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join(':');
    },
    open(sealed, context) {
      const [version, iv, tag, text] = sealed.split(':');
      if (version !== VERSION || !iv || !tag || text === undefined) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(text, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** The box of this installation (reads or creates the signing secret). */
export const loadSecretBox = async (models: Models, config: Config) =>
  secretBox(await loadSigningSecret(models, config));
