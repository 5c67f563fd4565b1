import type { Platform } from '@trackmate/schema';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { serverMessageId, structuralErrors } from '../ingest/index.js';
import type { QueuedEvent } from '../pipeline/index.js';
import { cleanName, normalizeEmail, normalizePhone, type ProfileUpsert } from '../profiles/index.js';
import { text } from './payload.js';

/** A postal address as TrackMate stores it (the server event's shape, plus the platform's extra lines). */
export interface OrderAddress {
  street: string;
  city: string;
  postcode: string;
  country: string;
  line2?: string;
  region?: string;
  company?: string;
  firstName?: string;
  lastName?: string;
}

export interface OrderLine {
  name: string;
  sku: string;
  /** Price × quantity, before discount and without tax. */
  amount: number;
  tax: number;
  discount: number;
  quantity: number;
  productId?: string;
  variantId?: string;
}

/** An order as read from a platform's payload, before it becomes an `order_placed` event. */
export interface PlatformOrder {
  platform: Platform;
  orderId: string;
  /** The number people see (`#1001`), when it differs from the id. */
  orderNumber?: string;
  placedAt?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  /** Marketing e-mail consent given at checkout (only a yes is carried: an unticked box decides nothing). */
  consent?: true;
  shippingAddress?: OrderAddress;
  billingAddress?: OrderAddress;
  items: OrderLine[];
  orderTotal: number;
  shippingTotal?: number;
  currency?: string;
  /** The TrackMate visitor id the checkout carried (cart, note or metadata attribute). */
  anonymousId?: string;
  test?: boolean;
}

export interface PlatformRefund {
  platform: Platform;
  refundId: string;
  orderId: string;
  amount: number;
  currency?: string;
  refundedAt?: string;
  reason?: string;
  email?: string;
  test?: boolean;
}

/** A phone number in E.164, read with the address's country when it is written the national way. */
export function e164(raw: unknown, country?: string): string | undefined {
  if (typeof raw !== 'string' || !raw.trim()) return undefined;
  const cc = country && /^[A-Z]{2}$/.test(country) ? (country as CountryCode) : undefined;
  const parsed = parsePhoneNumberFromString(raw, cc);
  if (parsed?.isValid()) return parsed.number;
  return normalizePhone(raw);
}

/** An address, when it has at least a street or a city and a two-letter country. */
export function address(a: {
  street?: unknown;
  line2?: unknown;
  city?: unknown;
  postcode?: unknown;
  country?: unknown;
  region?: unknown;
  company?: unknown;
  firstName?: unknown;
  lastName?: unknown;
}): OrderAddress | undefined {
  const country = typeof a.country === 'string' ? a.country.trim().toUpperCase() : '';
  const street = text(a.street) ?? '';
  const city = text(a.city, 200) ?? '';
  if (!/^[A-Z]{2}$/.test(country) || (!street && !city)) return undefined;
  return {
    street,
    city,
    postcode: text(a.postcode, 32) ?? '',
    country,
    ...present({
      line2: text(a.line2),
      region: text(a.region, 200),
      company: text(a.company, 200),
      firstName: cleanName(a.firstName),
      lastName: cleanName(a.lastName),
    }),
  };
}

/** The fields of `o` that hold something: no undefined, empty string, 0 or false is stored. */
function present<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined | '' | 0 | false> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v)) as {
    [K in keyof T]?: Exclude<T[K], undefined | '' | 0 | false>;
  };
}

export interface HookContext {
  siteId: string;
  receivedAt: Date;
}

/** The event's time: the platform's, never later than its arrival (as for every server event). */
function eventTime(at: string | undefined, receivedAt: Date): string {
  const ms = at ? Date.parse(at) : Number.NaN;
  return new Date(Number.isNaN(ms) ? receivedAt.getTime() : Math.min(ms, receivedAt.getTime())).toISOString();
}

function baseEvent(ctx: HookContext, name: string, messageKey: string, at: string | undefined): QueuedEvent {
  return {
    siteId: ctx.siteId,
    // the platform, the event and the platform's own id: a redelivered webhook makes the same id, stored once
    messageId: serverMessageId(messageKey),
    name,
    timestamp: eventTime(at, ctx.receivedAt),
    receivedAt: ctx.receivedAt.toISOString(),
    anonymousId: null,
    sessionId: null,
    profileId: null,
    properties: {},
    source: 'server',
    userAgent: null,
    ip: null,
  };
}

/** The profile an order creates or updates: found by its e-mail (none: the order is stored without a profile). */
function orderProfile(order: PlatformOrder): ProfileUpsert | undefined {
  const email = normalizeEmail(order.email);
  if (!email) return undefined;
  const country = order.billingAddress?.country ?? order.shippingAddress?.country;
  return {
    email,
    firstName: cleanName(order.firstName),
    lastName: cleanName(order.lastName),
    phone: e164(order.phone, country),
    consent: order.consent,
    consentSource: 'server',
  };
}

/** `order_placed`, as the server-event route stores it, with the platform's name and numbers beside. */
export function orderPlacedEvent(order: PlatformOrder, ctx: HookContext): QueuedEvent {
  const e = baseEvent(ctx, 'order_placed', `${order.platform}:order_placed:${order.orderId}`, order.placedAt);
  const { orderId, platform, items, orderTotal, orderNumber, currency, shippingTotal } = order;
  const { shippingAddress, billingAddress, test } = order;
  e.properties = {
    orderId,
    platform,
    items,
    orderTotal,
    ...present({ orderNumber, currency, shippingTotal, shippingAddress, billingAddress, test }),
  };
  e.anonymousId = order.anonymousId ?? null;
  const profile = orderProfile(order);
  if (profile) e.profile = profile;
  return e;
}

/** `order_refunded`: `amount` is subtracted from the day's revenue by the roll-ups. */
export function orderRefundedEvent(refund: PlatformRefund, ctx: HookContext): QueuedEvent {
  const e = baseEvent(ctx, 'order_refunded', `${refund.platform}:order_refunded:${refund.refundId}`, refund.refundedAt);
  const { orderId, refundId, platform, amount, currency, reason, test } = refund;
  e.properties = { orderId, refundId, platform, amount, ...present({ currency, reason, test }) };
  const email = normalizeEmail(refund.email);
  if (email) e.profile = { email, consentSource: 'server' };
  return e;
}

/** Size, nesting and keys, as for every event: the reasons, or undefined when the event can be stored. */
export const eventErrors = (e: QueuedEvent) => structuralErrors(e.properties);
