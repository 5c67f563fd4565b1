/**
 * Campaigns: triggers (entry, delay, exit, action), broadcasts, campaign e-mail with signed unsubscribe links,
 * tracked links and the open pixel.
 */
export { default as campaignRoutes } from './campaign-routes.js';
export { default as clickRoute } from './click-route.js';
export { requestConfirmations } from './consent-confirmation.js';
export { creditOrders } from './email-results.js';
export { default as openRoute } from './open-route.js';
export { dropSiteCampaignKeys } from './site-keys.js';
export {
  type ActiveTriggers,
  copyGuards,
  enterTriggers,
  type FireJob,
  guardCopy,
  loadActiveTriggers,
  pruneGuards,
  type ReentryGuards,
  startGuardPruning,
} from './trigger-entry.js';
export { createTriggerWorker } from './trigger-worker.js';
export { loadSigningSecret } from './unsubscribe-links.js';
