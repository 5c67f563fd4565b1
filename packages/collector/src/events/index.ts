/** Events: the stored events over HTTP (`GET /api/events`), and the newest-first page a profile's timeline shares. */
export { type EventSelection, eventPage } from './event-page.js';
export { default as eventRoutes } from './event-routes.js';
export { eventView } from './event-view.js';
