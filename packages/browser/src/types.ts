/**
 * Public types. The wire shapes mirror `@trackmate/schema` (docs/api.md) but are written out here so
 * that the published declarations need nothing installed besides this package; `test/schema-compat.ts`
 * (checked by `npm run typecheck`) fails when they drift from the schema.
 */

import type { Store } from './storage.js';

export type { Store };
export type Properties = Record<string, unknown>;

/** One event on the wire, as the collector's `ClientEvent` schema takes it. */
export interface ClientEvent {
  messageId: string;
  name: string;
  timestamp: string;
  anonymousId: string;
  sessionId?: string;
  profileId?: string;
  properties?: Properties;
  context?: { page?: Properties; library?: { name: string; version: string } };
}

export interface FormFields {
  email?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  accept_terms?: boolean;
}

export interface OrderItem {
  productId: string;
  amount: number;
  tax: number;
  discount: number;
  [key: string]: unknown;
}

export interface IdentifyTraits {
  /** Your own id for this person (e.g. the user's primary key), beside or instead of the e-mail. */
  userId?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  /** E.164, e.g. `+911234567890`. */
  phone?: string;
  /** Consent to e-mail marketing. */
  consent?: boolean;
  [key: string]: unknown;
}

/** Required properties of the standard events; other names take free-form properties. */
export interface StandardEvents {
  active_site: { url: string; sessionId: string };
  page_view: { url: string; referrer: string; title: string };
  deep_scroll: { percentage: number };
  button_click: { elementId: string; text: string };
  add_to_cart: { productId: string; quantity: number; price: number };
  form_submit: { formId: string; fields: FormFields };
  order_product: { orderId: string; items: OrderItem[] };
  /** An e-mail, your userId, or both. */
  identify: ({ email: string } | { userId: string }) & IdentifyTraits;
}

export type EventProperties<N extends string> = N extends keyof StandardEvents
  ? StandardEvents[N] & Properties
  : Properties;

export type ConsentState = 'granted' | 'denied';

export interface TrackerOptions {
  /** The site's public write key (`pk_…`). */
  writeKey: string;
  /** Collector origin, e.g. `https://collector.example`. Default: the page's own origin. */
  host?: string;
  /** Auto-capture plugins (`@trackmate/browser/page-view`, …). */
  plugins?: Plugin[];
  /** Send as soon as this many events are queued. Default 20. */
  batchSize?: number;
  /** Otherwise send this long (ms) after the first queued event. Default 1000. */
  flushInterval?: number;
  /** Unsent events kept (in memory and localStorage); the oldest are dropped first. Default 1000. */
  maxQueueSize?: number;
  /** Send nothing and store nothing until `consent('granted')`. */
  requireConsent?: boolean;
  /** Keep ids and the queue in memory only: no cookie, no localStorage. */
  cookieless?: boolean;
  /**
   * Where ids and the consent decision live when localStorage is unusable, e.g. `cookieStore()` from
   * `@trackmate/browser/cookie-store` (the script-tag build uses it). Default: memory.
   */
  storage?: Store;
  /** A session ends after this much inactivity (ms). Default 30 minutes. */
  sessionTimeout?: number;
  /** Log dropped and rejected events to the console. */
  debug?: boolean;
  /** Send URLs with their #fragment (hash-routed apps). Default false: fragments stay on the page. */
  keepHash?: boolean;
  /**
   * Which query parameters URLs keep when they leave the page (lower-case names). By default only campaign tags
   * and click ids (`utm_*`, `gclid`, `fbclid`, `msclkid`, `ref`, `source`) and `allow`; `full: true` keeps all
   * but `deny` and secret-looking names. Give the same additions as the site's rules on the collector.
   */
  urlParams?: UrlParams;
}

/**
 * A plugin is a plain object of optional hooks. `beforeSend` may change an event or return null to drop it;
 * `session` runs when a new session starts (the first event of a visit, or after 30 idle minutes).
 */
export interface Plugin {
  setup?(tracker: Tracker): void;
  beforeSend?(event: ClientEvent, tracker: Tracker): ClientEvent | null;
  session?(sessionId: string, tracker: Tracker): void;
  teardown?(): void;
}

export interface Tracker {
  readonly options: TrackerOptions;
  /** Queues an event; returns it as it will be sent, or undefined when it was dropped. */
  track(name: string, properties?: Properties): ClientEvent | undefined;
  /** Sends everything queued; resolves when the queue is empty or a retry is scheduled. */
  flush(): Promise<void>;
  consent(state: ConsentState): void;
  /** Forgets the visitor: new anonymousId and session (call it on logout). */
  reset(): void;
  anonymousId(): string;
  /** The current session id; starts a new session when the last one has expired. */
  sessionId(): string;
  /** Removes listeners and timers and tears plugins down. */
  teardown(): void;
  /** URL of the last page_view, the referrer of the next one in a single-page app. */
  lastUrl?: string;
  /** Keep #fragments in URLs (the `keepHash` option, or page-view's `{ hash: true }`). */
  keepHash?: boolean;
  /** Super-properties: added to the properties of every later event of this page (an event's own win). */
  register(properties: Properties): void;
  /** The visitor's consent decision, or undefined when none was made. */
  getConsent(): ConsentState | undefined;
}

/** Which query parameters leave the page (lower-case names); mirror the site's rules on the collector. */
export interface UrlParams {
  /** Kept besides the campaign tags and click ids (e.g. `['promo']`); in `full` mode, kept although secret-looking. */
  allow?: string[];
  /** Never kept (e.g. `['customer']`), even campaign tags. */
  deny?: string[];
  /** Keep every parameter but `deny` and secret-looking ones, instead of only the allowed ones. Default false. */
  full?: boolean;
}
