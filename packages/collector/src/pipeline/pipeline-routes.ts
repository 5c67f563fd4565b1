import type { Routes } from '../route-kit.js';
import deadLetterRoutes from './dead-letter-routes.js';
import eventRoutes from './event-routes.js';

/** The pipeline over HTTP (secret key): stored events, newest first, and the site's dead letters. */
const pipelineRoutes: Routes = async (app) => {
  await app.register(eventRoutes);
  await app.register(deadLetterRoutes);
};

export default pipelineRoutes;
