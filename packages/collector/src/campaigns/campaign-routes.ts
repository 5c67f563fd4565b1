import type { Routes } from '../route-kit.js';
import triggerDeliveryRoutes from './trigger-delivery-routes.js';
import triggerRoutes from './trigger-routes.js';
import { loadSigningSecret } from './unsubscribe-links.js';
import unsubscribeRoutes from './unsubscribe-routes.js';

/** Campaigns over HTTP: the trigger API (secret key) and the signed unsubscribe link of campaign e-mails. */
const campaignRoutes: Routes = async (app) => {
  const signingSecret = await loadSigningSecret(app.models, app.config);
  await app.register(triggerRoutes);
  await app.register(triggerDeliveryRoutes);
  await app.register(unsubscribeRoutes, { signingSecret });
};

export default campaignRoutes;
