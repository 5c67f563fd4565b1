/**
 * Integrations: events that arrive without our SDKs — the order webhooks of Shopify, WooCommerce and Stripe
 * (verified with each platform's signature), the deliveries log the console shows, and the no-script pixel.
 */
export { default as hookRoutes } from './hook-routes.js';
export { default as integrationRoutes } from './integration-routes.js';
export { default as pixelRoute, PIXEL } from './pixel-route.js';
