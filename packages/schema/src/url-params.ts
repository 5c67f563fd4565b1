import { type Static, Type } from 'typebox';

/**
 * Query parameters every URL keeps (besides a site's own additions): campaign tags and ad click ids, which
 * attribution needs and which name no one. `utm_` is a prefix; the others are whole names (case-insensitive).
 */
export const URL_PARAMS_KEPT = ['utm_*', 'gclid', 'fbclid', 'msclkid', 'ref', 'source'] as const;

/** A query parameter name in a site's rules (compared lower-cased). */
export const UrlParamName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\s&=#]+$' });

/**
 * A site's URL rules (docs/security.md, URLs). `allow` (the default): a stored URL keeps only the parameters of
 * URL_PARAMS_KEPT and the site's `allow` list. `full`: it keeps every parameter except those of `deny` and those
 * whose names look secret or personal (password, token, email, …), unless `allow` names them.
 */
export const UrlParams = Type.Object({
  mode: Type.Union([Type.Literal('allow'), Type.Literal('full')]),
  allow: Type.Array(UrlParamName, { maxItems: 100 }),
  deny: Type.Array(UrlParamName, { maxItems: 100 }),
});
export type UrlParams = Static<typeof UrlParams>;
