import { createTracker } from './tracker.js';
import type {
  ClientEvent,
  ConsentState,
  EventProperties,
  IdentifyTraits,
  OrderItem,
  Properties,
  StandardEvents,
  Tracker,
  TrackerOptions,
} from './types.js';
import { urlOf } from './util/url.js';

/**
 * The free-function API. Every function acts on the tracker `init()` made, or on the one passed last.
 * Calls made before `init()` are kept and replayed by it, so call order never loses an event.
 */

let current: Tracker | undefined;
const early: ((t: Tracker) => unknown)[] = [];

const run = <R>(fn: (t: Tracker) => R, tracker = current): R | undefined => {
  if (tracker) return fn(tracker);
  // On a server (SSR) there is nothing to replay into: keeping the calls would only leak memory.
  if (globalThis.window) early.push(fn);
  return undefined;
};

/** Creates the default tracker (replacing a previous one) and replays calls made before it existed. */
export const init = (options: TrackerOptions): Tracker => {
  current?.teardown();
  const t = createTracker(options);
  current = t;
  for (const fn of early.splice(0)) fn(t);
  return t;
};

/** Records an event. Standard event names have typed required properties; other names are free-form. */
export const track = <N extends string>(
  name: N,
  properties?: EventProperties<N>,
  tracker?: Tracker,
): ClientEvent | undefined => run((t) => t.track(name, properties), tracker);

/** Records a page_view of the current URL; in a single-page app the referrer is the previous page. */
export const page = (properties?: Properties, tracker?: Tracker): ClientEvent | undefined =>
  run((t) => {
    // Cleaned of secrets and cut to the collector's limits (2048, 2048, 1024): an over-long URL must not cost
    // the page view, and a password in a query string must not leave the page.
    const url = urlOf(t, location.href);
    const e = t.track('page_view', {
      url,
      referrer: t.lastUrl ?? urlOf(t, document.referrer),
      title: document.title.slice(0, 1024),
      ...properties,
    });
    t.lastUrl = url;
    return e;
  }, tracker);

/**
 * Tells who the visitor is: sends `identify`, which creates or updates the profile and links this visitor.
 * `identify(email, traits?)`, or `identify({ userId, email?, ...traits })` to name the person by your own id.
 */
export const identify = (
  who: string | StandardEvents['identify'],
  traits?: IdentifyTraits,
  tracker?: Tracker,
): ClientEvent | undefined => track('identify', typeof who === 'string' ? { ...traits, email: who } : who, tracker);

export const addToCart = (
  productId: string,
  quantity: number,
  price: number,
  properties?: Properties,
  tracker?: Tracker,
): ClientEvent | undefined => track('add_to_cart', { ...properties, productId, quantity, price }, tracker);

export const orderProduct = (
  orderId: string,
  items: OrderItem[],
  properties?: Properties,
  tracker?: Tracker,
): ClientEvent | undefined => track('order_product', { ...properties, orderId, items }, tracker);

/** With `requireConsent`, nothing is sent or stored before 'granted'; 'denied' forgets queued events and ids. */
export const consent = (state: ConsentState, tracker?: Tracker): void => run((t) => t.consent(state), tracker);

/** Sends what is queued now; resolves when the queue is empty or a retry is scheduled. */
export const flush = (tracker?: Tracker): Promise<void> => run((t) => t.flush(), tracker) ?? Promise.resolve();

/** Super-properties: added to every later event of this page; an event's own properties win. */
export const register = (properties: Properties, tracker?: Tracker): void =>
  run((t) => t.register(properties), tracker);

/** The visitor's consent decision, 'granted' or 'denied', or undefined when none was made (or before init). */
export const getConsent = (tracker?: Tracker): ConsentState | undefined => (tracker || current)?.getConsent();

/** The visitor's anonymousId (undefined before init). */
export const anonymousId = (tracker?: Tracker): string | undefined => (tracker || current)?.anonymousId();

/** Forgets the visitor (new anonymousId and session), e.g. on logout. */
export const reset = (tracker?: Tracker): void => run((t) => t.reset(), tracker);
