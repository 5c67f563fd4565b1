/**
 * The server wire format (docs/api.md), written out here rather than imported from
 * `@trackmate/schema` so that the published types need no dependency at all: `@trackmate/schema` carries
 * TypeBox at run time, and a server SDK that promises zero dependencies should not pull it in for types.
 * `test/types.test.ts` fails when these drift from the schema.
 */

/** A postal address; extra fields are passed through. */
export interface Address {
  street: string;
  city: string;
  postcode: string;
  /** ISO 3166-1 alpha-2, e.g. `IN`. */
  country: string;
  [key: string]: unknown;
}

/** The person an order is about: found by e-mail, and by your userId when given. */
export interface ServerProfile {
  email: string;
  /** Your own id of the person (account id, customer number): a profile key beside the e-mail. */
  userId?: string;
  firstName?: string;
  lastName?: string;
  /** E.164, e.g. `+911234567890`. */
  phone?: string;
  consent?: { email: boolean };
}

/** The person an `identify()` or event is about: by e-mail, by your userId, or both (then they are linked). */
export interface ServerIdentity {
  email?: string;
  userId?: string;
  firstName?: string;
  lastName?: string;
  /** E.164, e.g. `+911234567890`. */
  phone?: string;
  consent?: { email: boolean };
}

export interface ServerOrderItem {
  name: string;
  sku: string;
  amount: number;
  tax: number;
  discount: number;
  [key: string]: unknown;
}

/** The `order_placed` payload, exactly as the collector takes it. */
export interface OrderPlacedEvent {
  event: 'order_placed';
  /**
   * Leave it out: the collector then derives one from site + event + orderId, so the same order sent twice
   * (a retried webhook, a double submit) is stored once.
   */
  messageId?: string;
  orderId: string;
  profile: ServerProfile;
  shippingAddress?: Address;
  billingAddress?: Address;
  items: ServerOrderItem[];
  orderTotal: number;
  /** ISO 4217, e.g. `EUR`. */
  currency?: string;
  /** ISO-8601; the SDK sets the time of the call when it is missing. */
  timestamp?: string;
}

/** `orderPlaced()` takes the payload with or without its `"event": "order_placed"`. */
export type OrderInput = Omit<OrderPlacedEvent, 'event'> & { event?: 'order_placed' };

/** Any other named server event. */
export interface GenericServerEvent {
  /** `^[a-z][a-z0-9_]{0,63}$` */
  event: string;
  messageId?: string;
  timestamp?: string;
  profile?: ServerIdentity;
  email?: string;
  userId?: string;
  /** 24-hex id of a TrackMate profile. */
  profileId?: string;
  anonymousId?: string;
  properties?: Record<string, unknown>;
}

export type ServerEvent = OrderPlacedEvent | GenericServerEvent;

/** Who a `track()` call is about. */
export type Identity =
  | { email: string; userId?: string }
  | { userId: string; email?: string }
  | { profileId: string }
  | { anonymousId: string };

/** Per-call options of `track()` and `identify()`. */
export interface CallOptions {
  /** Dedupe key; a random UUID when left out. */
  messageId?: string;
  /** ISO-8601 or a Date; the time of the call when left out. */
  timestamp?: string | Date;
}

/** The collector's 202 answer. */
export interface AcceptedResponse {
  accepted: number;
  rejected: Array<{ index: number; errors: unknown[] }>;
}
