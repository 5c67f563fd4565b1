import {
  type ClientEvent,
  ClientEvent as ClientEventSchema,
  inspectJson,
  LIMITS,
  type RejectedItem,
  StandardEventProperties,
} from '@trackmate/schema';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { TrackMateError } from '../errors.js';
import type { EventGeo } from '../models/index.js';
import type { QueuedEvent } from '../pipeline/index.js';
import type { ProfileUpsert } from '../profiles/index.js';
import { cleanName, normalizeEmail, normalizePhone } from '../profiles/index.js';
import { installDateTimeFormat } from './date-time-format.js';
import { isoTime } from './iso-time.js';

installDateTimeFormat();
const envelope = Compile(ClientEventSchema);
/**
 * The envelope's check with `properties` and `context.page` as open objects: the same answer, for less. TypeBox
 * checks a record of string keys and unknown values entry by entry (`Object.entries`, then a key pattern that
 * accepts every key), for every event; an open object is only checked to be an object (1.35 → 1.1 µs an event in
 * a micro-benchmark). `__tests__/validation.test.ts` compares the two checks. Errors are described with `envelope`.
 */
const envelopeCheck = Compile(openEnvelope());

function openEnvelope() {
  const open = Type.Object({}, { additionalProperties: true });
  const { properties: _properties, context, ...rest } = ClientEventSchema.properties;
  const page = Type.Optional(open);
  return Type.Object(
    {
      ...rest,
      properties: Type.Optional(open),
      context: Type.Optional(Type.Object({ ...context.properties, page }, { additionalProperties: true })),
    },
    { additionalProperties: false },
  );
}

/** Whether `item` passes the client event envelope (the same answer as TypeBox's check of ClientEvent). */
export const checkEnvelope = (item: unknown): boolean => envelopeCheck.Check(item);
// a Map, not an object: a custom event named like an Object.prototype member ("constructor") has no validator
const byName = new Map<string, ReturnType<typeof Compile>>(
  Object.entries(StandardEventProperties).map(([name, schema]) => [name, Compile(schema)]),
);

const MAX_ERRORS = 5;

export interface RequestContext {
  siteId: string;
  receivedAt: Date;
  /** Batch-level sentAt (client clock when the request left). */
  sentAt?: string;
  ip: string | null;
  /** Country and region of the request's address (before anonymisation), or null. */
  geo?: EventGeo | null;
  userAgent: string | null;
  /** Bytes of the decoded JSON body, when known (a Content-Length without Content-Encoding). */
  bodyBytes?: number;
  /** The site's consent mode: what a browser's yes to e-mail counts for (default `single`). */
  consentMode?: 'single' | 'double' | 'server';
}

export interface Validated {
  events: QueuedEvent[];
  rejected: RejectedItem[];
  /** Index in the request of each accepted event, parallel to `events` (for rejecting one later). */
  indexes: number[];
}

/** Schema error messages a person can act on: "/properties/url: must be string". */
export function describeErrors(validator: ReturnType<typeof Compile>, value: unknown, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of validator.Errors(value)) {
    if (e.keyword === 'boolean') continue; // duplicates the additionalProperties error
    const where = `${prefix}${e.instancePath}` || '/';
    const extra =
      e.keyword === 'additionalProperties' && Array.isArray(e.params?.additionalProperties)
        ? ` (${(e.params.additionalProperties as string[]).join(', ')})`
        : '';
    out.push(`${where}: ${e.message}${extra}`);
    if (out.length >= MAX_ERRORS) break;
  }
  return out.length ? out : [`${prefix || '/'}: invalid`];
}

/**
 * How much longer JSON.stringify of parsed JSON can be than the text it was parsed from: at most "1e20" (4
 * bytes) → "100000000000000000000" (21); escapes and whitespace only shrink.
 */
const MAX_REENCODE_GROWTH = 6;

/**
 * Errors shared by every payload: shape, unsafe keys, nesting, size. The walk that checks the keys also bounds
 * the event's JSON size (`inspectJson`), and `bodyBytes`, the size of the JSON text the item came from when
 * known, bounds it too: an event is serialized to be measured only when neither shows it under the limit (a
 * bench/ profile showed re-serializing every event of a batch as the largest cost of validation).
 */
export function structuralErrors(item: unknown, bodyBytes?: number): string[] | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return ['/: an event must be a JSON object'];
  const inspected = inspectJson(item);
  if (typeof inspected === 'string') return [inspected];
  if (inspected <= LIMITS.maxEventBytes) return undefined;
  if (bodyBytes !== undefined && bodyBytes * MAX_REENCODE_GROWTH <= LIMITS.maxEventBytes) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(item));
  if (bytes > LIMITS.maxEventBytes)
    return [`/: event is ${bytes} bytes, more than the ${LIMITS.maxEventBytes} allowed`];
  return undefined;
}

/** Validates each client event on its own, so a bad event never sinks its good neighbours. */
export function validateClientEvents(items: readonly unknown[], ctx: RequestContext): Validated {
  const events: QueuedEvent[] = [];
  const rejected: RejectedItem[] = [];
  // worked out once per request, not per event (Date parsing and formatting showed in a batch profile)
  const shared: SharedTimes = {
    receivedMs: ctx.receivedAt.getTime(),
    receivedIso: ctx.receivedAt.toISOString(),
    sentMs: ctx.sentAt ? Date.parse(ctx.sentAt) : Number.NaN,
  };
  const indexes: number[] = [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    const checked = structuralErrors(item, ctx.bodyBytes) ?? validateOne(item);
    if (typeof checked === 'number') {
      events.push(enrich(item as ClientEvent, checked, ctx, shared));
      indexes.push(index);
    } else rejected.push({ index, errors: checked });
  }
  return { events, rejected, indexes };
}

/** The errors of one event, or (valid) its timestamp in ms, parsed once for the check and the correction. */
function validateOne(item: unknown): string[] | number {
  if (!envelopeCheck.Check(item)) return describeErrors(envelope, item);
  const event = item as ClientEvent;
  // `srv:` ids are derived for server events (an order's from site + orderId): a browser that sent one first
  // would make the real order a duplicate
  if (event.messageId.startsWith('srv:'))
    return ['/messageId: ids starting with "srv:" are reserved for server events'];
  // the format accepts what no clock shows (23:59:60, February 30): a real time, or a per-event 400
  const timestampMs = Date.parse(event.timestamp);
  if (Number.isNaN(timestampMs)) return [`/timestamp: "${event.timestamp}" is not a real time`];
  if (typeof event.sentAt === 'string' && Number.isNaN(Date.parse(event.sentAt))) {
    return [`/sentAt: "${event.sentAt}" is not a real time`];
  }
  const validator = byName.get(event.name);
  if (validator && !validator.Check(event.properties ?? {})) {
    return describeErrors(validator, event.properties ?? {}, '/properties');
  }
  if (event.name === 'identify' && !event.properties?.email && !event.properties?.userId) {
    return ['/properties: identify needs an email or a userId'];
  }
  if (event.name === 'alias' && (typeof event.properties?.previousId !== 'string' || !event.properties.previousId)) {
    return ['/properties/previousId: alias needs the previous visitor id'];
  }
  return timestampMs;
}

/** receivedAt − (sentAt − timestamp): the client's clock skew removed; never later than receivedAt. */
export function correctTimestamp(timestamp: string, sentAt: string | undefined, receivedAt: Date): Date {
  return new Date(correctedMs(Date.parse(timestamp), sentAt ? Date.parse(sentAt) : Number.NaN, receivedAt.getTime()));
}

function correctedMs(ts: number, sent: number, received: number): number {
  const corrected = Number.isNaN(sent) ? ts : received - (sent - ts);
  return Math.min(corrected, received);
}

interface SharedTimes {
  receivedMs: number;
  receivedIso: string;
  /** The batch's sentAt, NaN when absent. */
  sentMs: number;
}

function enrich(event: ClientEvent, timestampMs: number, ctx: RequestContext, shared: SharedTimes): QueuedEvent {
  const properties = (event.properties ?? {}) as Record<string, unknown>;
  const own = event.sentAt;
  const sent = own === undefined || own === null ? shared.sentMs : own ? Date.parse(own) : Number.NaN;
  const queued: QueuedEvent = {
    siteId: ctx.siteId,
    messageId: event.messageId,
    name: event.name,
    timestamp: isoTime(correctedMs(timestampMs, sent, shared.receivedMs)),
    receivedAt: shared.receivedIso,
    anonymousId: event.anonymousId,
    sessionId: event.sessionId ?? null,
    profileId: event.profileId ?? null,
    properties,
    context: event.context as Record<string, unknown> | undefined,
    source: 'client',
    userAgent: ctx.userAgent,
    ip: ctx.ip,
  };
  // set in this order, as the object spreads that built them did (the job's JSON is unchanged)
  if (ctx.geo) queued.geo = ctx.geo;
  const profile = profileFrom(event.name, properties);
  if (profile?.consent !== true || !ctx.consentMode || ctx.consentMode === 'single') queued.profile = profile;
  else {
    queued.profile = { ...profile, consent: undefined };
    queued.flags = [ctx.consentMode === 'double' ? 'consent_requested' : 'consent_ignored'];
  }
  return queued;
}

/*
 * A browser's yes counts as the site says (enrich above): at once (`single`), as a request for a confirmation
 * e-mail (`double`: the event is flagged `consent_requested`), or not at all (`server`). A no always counts.
 */

/** form_submit with a valid e-mail and identify create or update a profile (docs/architecture.md, an event's path). */
function profileFrom(name: string, p: Record<string, unknown>): ProfileUpsert | undefined {
  if (name === 'form_submit') {
    const f = (p.fields ?? {}) as Record<string, unknown>;
    const email = normalizeEmail(f.email);
    if (!email) return undefined;
    return {
      email,
      firstName: cleanName(f.firstName),
      lastName: cleanName(f.lastName),
      phone: normalizePhone(f.phone),
      // A ticked box grants consent; an unticked one is no decision (it never withdraws an earlier yes).
      consent: f.accept_terms === true ? true : undefined,
      consentSource: 'form',
    };
  }
  if (name === 'identify') {
    const email = normalizeEmail(p.email);
    const userId = typeof p.userId === 'string' && p.userId ? p.userId : undefined;
    if (!email && !userId) return undefined;
    return {
      email,
      userId,
      firstName: cleanName(p.firstName),
      lastName: cleanName(p.lastName),
      phone: normalizePhone(p.phone),
      consent: typeof p.consent === 'boolean' ? p.consent : undefined,
      consentSource: 'identify',
    };
  }
  return undefined;
}

/**
 * The items of a request body: `{ batch: [...] }` checked against its envelope (more than 500 events → 413),
 * or the body itself as one event. Shared by the client and server track endpoints.
 */
export function requestItems(
  body: object,
  envelope: ReturnType<typeof Compile>,
): { isBatch: boolean; items: unknown[] } {
  if (!('batch' in body)) return { isBatch: false, items: [body] };
  const batch = (body as { batch: unknown }).batch;
  if (!envelope.Check(body)) {
    if (Array.isArray(batch) && batch.length > LIMITS.maxBatchEvents) {
      throw new TrackMateError('TM_ERR_PAYLOAD_TOO_LARGE', {
        message: `A batch holds at most ${LIMITS.maxBatchEvents} events; this one has ${batch.length}`,
      });
    }
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: describeErrors(envelope, body).join('; ') });
  }
  return { isBatch: true, items: batch as unknown[] };
}
