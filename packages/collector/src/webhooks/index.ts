/** Webhooks: subscriptions API, fan-out of stored events, signed deliveries with retries, the deliveries log. */
export { type DeliveryRecord, recordDelivery } from './deliveries.js';
export { default as webhookActionRoutes } from './webhook-action-routes.js';
export { fanOutWebhooks, loadSubscriptions, type Subscriptions, type WebhookJob } from './webhook-fanout.js';
export { default as webhookRoutes } from './webhook-routes.js';
export { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';
export { createWebhookWorker } from './webhook-worker.js';
