/** Campaigns: triggers (entry, delay, exit, action), campaign e-mail with signed unsubscribe links. */
export { default as campaignRoutes } from './campaign-routes.js';
export { default as clickRoute } from './click-route.js';
export { requestConfirmations } from './consent-confirmation.js';
export { creditOrders } from './email-results.js';
export { type ActiveTriggers, enterTriggers, type FireJob, loadActiveTriggers } from './trigger-entry.js';
export { createTriggerWorker } from './trigger-worker.js';
export { loadSigningSecret } from './unsubscribe-links.js';
