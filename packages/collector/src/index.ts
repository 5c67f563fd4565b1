export { type BuildOptions, buildApp } from './app.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { ERRORS, type ErrorCode, TrackMateError } from './errors.js';
export { openConnections } from './plugins/connections.js';
export { createSite, siteBySecretKey } from './sites/create-site.js';
export { createModels, migrate, type Models } from './models/index.js';
export { startServer, startWorker } from './server.js';
