export { type BuildOptions, buildApp, buildWorker } from './app.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { ERRORS, type ErrorCode, TrackMateError } from './errors.js';
export { createModels, type Models, migrate } from './models/index.js';
export { type Mongo, openMongo } from './plugins/mongo.js';
export { startServer, startWorker } from './server.js';
export { type CreatedSite, createSite } from './sites/index.js';
