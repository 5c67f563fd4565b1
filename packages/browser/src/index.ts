export { addToCart, consent, flush, identify, init, orderProduct, page, reset, track } from './api.js';
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
} from './types.js';
export { VERSION } from './version.js';
