import type { Routes } from '../route-kit.js';
import deadLetterRoutes from './dead-letter-routes.js';

/** The pipeline over HTTP (secret key): the site's dead letters. */
const pipelineRoutes: Routes = async (app) => {
  await app.register(deadLetterRoutes);
};

export default pipelineRoutes;
