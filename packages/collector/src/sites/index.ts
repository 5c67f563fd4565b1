/** Sites: keys, the key-to-site cache, allowed origins, shop platform secrets, and the `sites` CLI command. */
export { type CreatedSite, createSite } from './create-site.js';
export {
  type DeleteSiteDeps,
  deleteSite,
  type SiteDeletion,
  type SiteKeyCleaner,
  type SiteOwned,
} from './delete-site.js';
export {
  type IntegrationSecretsChange,
  integrationSecret,
  integrationsView,
  isPlatform,
} from './integration-secrets.js';
export { type CachedSite, KeyCache, type KeyCacheOptions } from './key-cache.js';
export { hashSecretKey, isSecretKeyShape, isWriteKeyShape, newSecretKey } from './keys.js';
export { normalizeOrigin, originAllowed } from './origins.js';
export { bumpSiteConfig, SiteConfigCache } from './site-config-cache.js';
export { siteRepository } from './site-repository.js';
export { default as siteRoutes } from './site-routes.js';
export {
  parseOverlap,
  rotateKeys,
  type SitesCommandInput,
  sitesCommand,
  siteView,
  updateSite,
} from './sites-command.js';
