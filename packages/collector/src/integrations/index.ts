/**
 * Integrations: events that arrive without our SDKs — the order webhooks of Shopify, WooCommerce and Stripe
 * (verified with each platform's signature), and the deliveries log the console shows.
 */
export { default as integrationRoutes } from './hook-routes.js';
