/** Sites: keys, the key-to-site cache, allowed origins, and the `sites` CLI command. */
export { type CreatedSite, createSite } from './create-site.js';
export { type CachedSite, KeyCache, type KeyCacheOptions } from './key-cache.js';
export { isSecretKeyShape, isWriteKeyShape } from './keys.js';
export { normalizeOrigin, originAllowed } from './origins.js';
export { bumpSiteConfig, SiteConfigCache } from './site-config-cache.js';
export { type SitesCommandInput, sitesCommand } from './sites-command.js';
