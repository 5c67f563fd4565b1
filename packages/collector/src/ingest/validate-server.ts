import { createHash } from 'node:crypto';
import {
  type GenericServerEvent,
  GenericServerEvent as GenericServerEventSchema,
  type OrderPlacedEvent,
  OrderPlacedEvent as OrderPlacedEventSchema,
  type RejectedItem,
  type ServerIdentity,
  type ServerProfile,
} from '@trackmate/schema';
import { Compile } from 'typebox/compile';
import type { QueuedEvent } from '../pipeline/index.js';
import type { ProfileUpsert } from '../profiles/index.js';
import { cleanName, normalizeEmail, normalizePhone } from '../profiles/index.js';
import { correctTimestamp, describeErrors, structuralErrors } from './validate-client.js';

const orderValidator = Compile(OrderPlacedEventSchema);
const genericValidator = Compile(GenericServerEventSchema);

/** Cents: totals within half a cent of the items' sum are not a mismatch (floating-point sums). */
const TOTAL_TOLERANCE = 0.005;

export interface ServerRequestContext {
  siteId: string;
  receivedAt: Date;
  ip: string | null;
  userAgent: string | null;
}

export interface ValidatedServer {
  events: QueuedEvent[];
  rejected: RejectedItem[];
  /** Index in the request of each accepted event, parallel to `events` (for rejecting one later). */
  indexes: number[];
}

/** Validates each server event on its own, so a bad event never sinks its good neighbours. */
export function validateServerEvents(items: readonly unknown[], ctx: ServerRequestContext): ValidatedServer {
  const out: ValidatedServer = { events: [], rejected: [], indexes: [] };
  items.forEach((item, index) => {
    const errors = structuralErrors(item) ?? validateOne(item as Record<string, unknown>);
    if (errors) {
      out.rejected.push({ index, errors });
      return;
    }
    out.events.push(toQueued(item as OrderPlacedEvent | GenericServerEvent, ctx));
    out.indexes.push(index);
  });
  return out;
}

function validateOne(item: Record<string, unknown>): string[] | undefined {
  const profile = item.profile as Record<string, unknown> | undefined;
  // "+91 12345-67890" is the number +911234567890: accept the usual formatting, validate the E.164 result.
  if (profile && typeof profile === 'object' && typeof profile.phone === 'string') {
    const phone = normalizePhone(profile.phone);
    if (phone) profile.phone = phone;
  }
  const validator = item.event === 'order_placed' ? orderValidator : genericValidator;
  if (!validator.Check(item)) return describeErrors(validator, item);
  if (profile && !profile.email && !profile.userId && !(item as { userId?: string }).userId) {
    return ['/profile: a profile needs an email or a userId'];
  }
  if (typeof item.timestamp === 'string' && Number.isNaN(Date.parse(item.timestamp))) {
    return [`/timestamp: "${item.timestamp}" is not a real time`];
  }
  return undefined;
}

function toQueued(event: OrderPlacedEvent | GenericServerEvent, ctx: ServerRequestContext): QueuedEvent {
  const at = event.timestamp ? correctTimestamp(event.timestamp, undefined, ctx.receivedAt) : ctx.receivedAt;
  const queued: QueuedEvent = {
    siteId: ctx.siteId,
    messageId: event.messageId ? serverMessageId(event.messageId) : derivedMessageId(ctx.siteId, event),
    name: event.event,
    timestamp: at.toISOString(),
    receivedAt: ctx.receivedAt.toISOString(),
    anonymousId: null,
    sessionId: null,
    profileId: null,
    properties: {},
    source: 'server',
    userAgent: ctx.userAgent,
    ip: ctx.ip,
  };
  if (isOrder(event)) {
    const { event: _name, messageId: _id, timestamp: _ts, profile, ...properties } = event;
    queued.properties = properties;
    queued.profile = profileUpsert(profile);
    if (!totalMatches(event)) queued.flags = ['order_total_mismatch'];
    return queued;
  }
  queued.properties = event.properties ?? {};
  queued.anonymousId = event.anonymousId ?? null;
  queued.profileId = event.profileId ? event.profileId.toLowerCase() : null;
  if (event.profile) queued.profile = profileUpsert({ userId: event.userId, ...event.profile });
  else if (event.email || event.userId)
    queued.profile = {
      email: event.email === undefined ? undefined : (normalizeEmail(event.email) ?? event.email.toLowerCase()),
      userId: event.userId,
      consentSource: 'server',
    };
  return queued;
}

const isOrder = (e: OrderPlacedEvent | GenericServerEvent): e is OrderPlacedEvent => e.event === 'order_placed';

function profileUpsert(p: ServerProfile | ServerIdentity): ProfileUpsert {
  return {
    email: p.email === undefined ? undefined : (normalizeEmail(p.email) ?? p.email.trim().toLowerCase()),
    userId: p.userId,
    firstName: cleanName(p.firstName),
    lastName: cleanName(p.lastName),
    phone: normalizePhone(p.phone),
    consent: p.consent?.email,
    consentSource: 'server',
  };
}

/** orderTotal against the items' amount + tax − discount. A mismatch is flagged, never corrected. */
export function totalMatches(order: Pick<OrderPlacedEvent, 'items' | 'orderTotal'>): boolean {
  const sum = order.items.reduce((acc, i) => acc + i.amount + i.tax - i.discount, 0);
  return Math.abs(sum - order.orderTotal) < TOTAL_TOLERANCE;
}

/**
 * The messageId of a server event sent without one. An order's comes from site + event + orderId, so a
 * retried webhook or a double submit stores one order; any other event's from its canonical JSON.
 */
export function derivedMessageId(siteId: string, event: OrderPlacedEvent | GenericServerEvent): string {
  const basis = isOrder(event)
    ? `${siteId}:${event.event}:${event.orderId}`
    : `${siteId}:${event.event}:${canonicalJson(event)}`;
  return `srv:${createHash('sha256').update(basis).digest('hex')}`;
}

/**
 * A server event's own messageId, in the server namespace: `srv:` before it (browsers may not send `srv:` ids),
 * so that no browser can take an id a back end will use and have the real event dropped as a duplicate.
 */
export const serverMessageId = (id: string) => (id.startsWith('srv:') ? id : `srv:${id}`);

/** JSON with object keys sorted at every level, so equal payloads hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}
