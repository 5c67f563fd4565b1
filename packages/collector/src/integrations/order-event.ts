import type { Platform } from '@trackmate/schema';
import { LIMITS } from '@trackmate/schema';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { serverMessageId, structuralErrors } from '../ingest/index.js';
import type { QueuedEvent } from '../pipeline/index.js';
import { cleanName, normalizeEmail, normalizePhone, type ProfileUpsert } from '../profiles/index.js';

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

/** The attribute that carries the visitor id through a checkout (documented per platform in docs/integrations.md). */
export const ANONYMOUS_ID_KEYS = ['trackmate_anonymous_id', '_trackmate_anonymous_id'];

/** A visitor id as the browser SDK makes them: printable, at most 128 characters. */
export function anonymousIdOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = value.trim();
  return id && id.length <= LIMITS.maxIdLength && /^[\x21-\x7e]+$/.test(id) ? id : undefined;
}

/** A money amount the platforms send as a string ("19.99") or a number; anything else is 0. */
export function money(value: unknown): number {
  const n = typeof value === 'string' ? Number(value.trim() || 'NaN') : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : 0;
}

/** A string field, trimmed and bounded; undefined when empty or not a string. */
export function text(value: unknown, max = 512): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const s = value.trim().slice(0, max);
  return s || undefined;
}

const CURRENCY = /^[A-Z]{3}$/;
export const currencyCode = (value: unknown): string | undefined => {
  const c = typeof value === 'string' ? value.trim().toUpperCase() : '';
  return CURRENCY.test(c) ? c : undefined;
};

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
  const out: OrderAddress = { street, city, postcode: text(a.postcode, 32) ?? '', country };
  const extra = {
    line2: text(a.line2),
    region: text(a.region, 200),
    company: text(a.company, 200),
    firstName: cleanName(a.firstName),
    lastName: cleanName(a.lastName),
  };
  for (const [k, v] of Object.entries(extra)) if (v) (out as unknown as Record<string, string>)[k] = v;
  return out;
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
  const properties: Record<string, unknown> = {
    orderId: order.orderId,
    platform: order.platform,
    items: order.items,
    orderTotal: order.orderTotal,
  };
  if (order.orderNumber) properties.orderNumber = order.orderNumber;
  if (order.currency) properties.currency = order.currency;
  if (order.shippingTotal) properties.shippingTotal = order.shippingTotal;
  if (order.shippingAddress) properties.shippingAddress = order.shippingAddress;
  if (order.billingAddress) properties.billingAddress = order.billingAddress;
  if (order.test) properties.test = true;
  e.properties = properties;
  e.anonymousId = order.anonymousId ?? null;
  const profile = orderProfile(order);
  if (profile) e.profile = profile;
  return e;
}

/** `order_refunded`: `amount` is subtracted from the day's revenue by the roll-ups. */
export function orderRefundedEvent(refund: PlatformRefund, ctx: HookContext): QueuedEvent {
  const e = baseEvent(ctx, 'order_refunded', `${refund.platform}:order_refunded:${refund.refundId}`, refund.refundedAt);
  const properties: Record<string, unknown> = {
    orderId: refund.orderId,
    refundId: refund.refundId,
    platform: refund.platform,
    amount: refund.amount,
  };
  if (refund.currency) properties.currency = refund.currency;
  if (refund.reason) properties.reason = refund.reason;
  if (refund.test) properties.test = true;
  e.properties = properties;
  const email = normalizeEmail(refund.email);
  if (email) e.profile = { email, consentSource: 'server' };
  return e;
}

/** Size, nesting and keys, as for every event: the reasons, or undefined when the event can be stored. */
export const eventErrors = (e: QueuedEvent) => structuralErrors(e.properties);
