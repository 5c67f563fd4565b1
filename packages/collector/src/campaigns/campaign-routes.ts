import type { Routes } from '../route-kit.js';
import broadcastRoutes from './broadcast-routes.js';
import { confirmRefusals } from './confirmation-limits.js';
import consentConfirmRoutes from './consent-confirm-routes.js';
import triggerDeliveryRoutes from './trigger-delivery-routes.js';
import triggerRoutes from './trigger-routes.js';
import { loadSigningSecret } from './unsubscribe-links.js';
import unsubscribeRoutes from './unsubscribe-routes.js';

/** Campaigns over HTTP: the trigger API (secret key), the signed unsubscribe and double opt-in links. */
const campaignRoutes: Routes = async (app) => {
  const signingSecret = await loadSigningSecret(app.models, app.config);
  await app.register(triggerRoutes);
  await app.register(triggerDeliveryRoutes);
  await app.register(broadcastRoutes, { signingSecret });
  await app.register(unsubscribeRoutes, { signingSecret });
  await app.register(consentConfirmRoutes, { signingSecret });
  app.prometheus.beforeScrape.push(async () => {
    const refused = await confirmRefusals(app.redis, app.config.queuePrefix);
    app.prometheus.consentConfirmationsRefused.reset();
    for (const [reason, n] of Object.entries(refused)) app.prometheus.consentConfirmationsRefused.inc({ reason }, n);
  });
};

export default campaignRoutes;
