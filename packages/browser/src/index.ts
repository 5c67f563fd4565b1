export {
  addToCart,
  anonymousId,
  consent,
  flush,
  getConsent,
  identify,
  init,
  orderProduct,
  page,
  register,
  reset,
  track,
} from './api.js';
export { createTracker } from './tracker.js';
export type {
  ClientEvent,
  ConsentState,
  EventProperties,
  FormFields,
  IdentifyTraits,
  OrderItem,
  Plugin,
  Properties,
  StandardEvents,
  Tracker,
  TrackerOptions,
  UrlParams,
} from './types.js';
export { VERSION } from './version.js';
