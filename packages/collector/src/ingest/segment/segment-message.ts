import { createHash } from 'node:crypto';
import type { RejectedItem } from '@trackmate/schema';
import type { QueuedEvent } from '../../pipeline/index.js';
import { cleanName, normalizeEmail, normalizePhone, type ProfileUpsert } from '../../profiles/index.js';
import { correctTimestamp, type RequestContext, structuralErrors } from '../validate-client.js';

/** The Segment calls TrackMate maps; `screen` and `group` are refused per message. */
export type SegmentType = 'track' | 'identify' | 'page' | 'alias';
const TYPES = new Set<string>(['track', 'identify', 'page', 'alias']);

/** Segment event names are free text ("Order Completed"); they are stored as given, within these bounds. */
const MAX_SEGMENT_NAME = 200;
const MAX_ID = 128;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown, max = 2048): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);

export interface SegmentContext extends RequestContext {
  /** The batch's `context`, under each message's own. */
  batchContext?: Obj;
}

export interface Mapped {
  events: QueuedEvent[];
  rejected: RejectedItem[];
  indexes: number[];
}

/**
 * Segment messages (as analytics.js and analytics-node send them) validated one by one and mapped onto
 * TrackMate events: `track` keeps its event name and properties, `page` becomes `page_view` (url, referrer and
 * title from the properties or `context.page`), `identify` becomes `identify` with the traits as properties and
 * creates or updates the profile of its `userId` and `traits.email`, `alias` becomes `alias` (its `previousId`
 * joins the profile of `userId`). Every message with a `userId` is linked to that user's profile (made when
 * missing), as Segment attributes it; the userId is also kept as given in `context.userId`. A message without
 * messageId gets one derived from its content, so a retried request is stored once.
 */
export function mapSegmentMessages(
  items: readonly unknown[],
  implied: SegmentType | undefined,
  ctx: SegmentContext,
): Mapped {
  const out: Mapped = { events: [], rejected: [], indexes: [] };
  items.forEach((item, index) => {
    const errors = structuralErrors(item);
    const result = errors ? { errors } : mapOne(item as Obj, implied, ctx);
    if ('errors' in result) out.rejected.push({ index, errors: result.errors });
    else {
      out.events.push(result.event);
      out.indexes.push(index);
    }
  });
  return out;
}

function mapOne(
  msg: Obj,
  implied: SegmentType | undefined,
  ctx: SegmentContext,
): { event: QueuedEvent } | { errors: string[] } {
  const type = msg.type ?? implied;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    return {
      errors: [
        `/type: Segment ${JSON.stringify(type ?? null)} calls are not taken (track, identify, page and alias are)`,
      ],
    };
  }
  if (implied && msg.type !== undefined && msg.type !== implied) {
    return { errors: [`/type: a ${JSON.stringify(msg.type)} message sent to /v1/${implied}`] };
  }
  const errors: string[] = [];
  const id = (field: 'userId' | 'anonymousId'): string | undefined => {
    const v = msg[field];
    if (v === undefined || v === null) return undefined;
    if ((typeof v !== 'string' && typeof v !== 'number') || String(v).length === 0 || String(v).length > MAX_ID) {
      errors.push(`/${field}: must be a string of 1 to ${MAX_ID} characters`);
      return undefined;
    }
    return String(v);
  };
  const userId = id('userId');
  const anonymousId = id('anonymousId');
  if (userId === undefined && anonymousId === undefined && !errors.length)
    errors.push('/: userId or anonymousId is required');

  let messageId = msg.messageId;
  if (messageId === undefined || messageId === null) messageId = `seg-${digest(msg)}`;
  if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > MAX_ID) {
    errors.push(`/messageId: must be a string of 1 to ${MAX_ID} characters`);
  } else if (messageId.startsWith('srv:'))
    errors.push('/messageId: ids starting with "srv:" are reserved for server events');

  for (const field of ['timestamp', 'originalTimestamp', 'sentAt'] as const) {
    const v = msg[field];
    if (v !== undefined && v !== null && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) {
      errors.push(`/${field}: must be an ISO-8601 time`);
    }
  }
  for (const field of ['properties', 'traits', 'context'] as const) {
    if (msg[field] !== undefined && msg[field] !== null && !isObject(msg[field]))
      errors.push(`/${field}: must be an object`);
  }
  const properties: Obj = isObject(msg.properties) ? msg.properties : {};
  const context: Obj = { ...(ctx.batchContext ?? {}), ...(isObject(msg.context) ? msg.context : {}) };

  let name: string;
  let eventProperties: Obj;
  let profile: ProfileUpsert | undefined;
  if (type === 'track') {
    const event = msg.event;
    if (typeof event !== 'string' || !event.trim() || event.length > MAX_SEGMENT_NAME || hasControlCharacter(event)) {
      errors.push(`/event: must be a name of 1 to ${MAX_SEGMENT_NAME} printable characters`);
    }
    name = String(event);
    eventProperties = properties;
  } else if (type === 'page') {
    const page: Obj = isObject(context.page) ? context.page : {};
    name = 'page_view';
    eventProperties = {
      ...properties,
      url: text(properties.url) ?? text(page.url) ?? '',
      referrer: text(properties.referrer) ?? text(page.referrer) ?? '',
      title: text(properties.title, 1024) ?? text(page.title, 1024) ?? '',
    };
    if (typeof msg.name === 'string') eventProperties.name = msg.name.slice(0, 1024);
    if (typeof msg.category === 'string') eventProperties.category = msg.category.slice(0, 1024);
  } else if (type === 'alias') {
    const previousId = msg.previousId;
    if (
      (typeof previousId !== 'string' && typeof previousId !== 'number') ||
      !String(previousId) ||
      String(previousId).length > MAX_ID
    ) {
      errors.push(`/previousId: must be a string of 1 to ${MAX_ID} characters`);
    }
    if (userId === undefined) errors.push('/userId: alias needs the userId the previousId joins');
    name = 'alias';
    eventProperties = { previousId: String(previousId) };
  } else {
    const traits: Obj = isObject(msg.traits) ? msg.traits : isObject(context.traits) ? context.traits : {};
    name = 'identify';
    eventProperties = traits;
    profile = profileOf(traits, userId);
  }
  // as Segment attributes every call with a userId to that user: linked to (or making) the user's profile
  if (!profile && userId !== undefined) profile = { userId, consentSource: 'identify' };
  // the batch's context joins the message's: still one event of at most 32 KB
  if (!errors.length && ctx.batchContext) errors.push(...(structuralErrors({ eventProperties, context }) ?? []));
  if (errors.length) return { errors: errors.slice(0, 5) };

  const timestamp = text(msg.originalTimestamp) ?? text(msg.timestamp);
  const sentAt = text(msg.sentAt) ?? ctx.sentAt;
  if (userId !== undefined) context.userId = userId;
  // an address a sender vouches for is not stored: the event's ip is the request's, kept per TRACKMATE_IP_MODE
  delete context.ip;
  const userAgent = text(context.userAgent, 512) ?? ctx.userAgent;
  return {
    event: {
      siteId: ctx.siteId,
      messageId: messageId as string,
      name,
      timestamp: (timestamp ? correctTimestamp(timestamp, sentAt, ctx.receivedAt) : ctx.receivedAt).toISOString(),
      receivedAt: ctx.receivedAt.toISOString(),
      anonymousId: anonymousId ?? null,
      sessionId: null,
      profileId: null,
      properties: eventProperties,
      context,
      source: 'client',
      userAgent,
      ip: ctx.ip,
      ...(profile ? { profile } : {}),
    },
  };
}

/** The profile an identify call names by userId and `traits.email` (Segment's reserved traits, camel or snake case). */
function profileOf(traits: Obj, userId: string | undefined): ProfileUpsert | undefined {
  const email = normalizeEmail(traits.email);
  if (!email && !userId) return undefined;
  return {
    email,
    userId,
    firstName: cleanName(traits.firstName ?? traits.first_name),
    lastName: cleanName(traits.lastName ?? traits.last_name),
    phone: normalizePhone(traits.phone),
    consentSource: 'identify',
  };
}

/** What a resend keeps: the message without the fields a library rewrites on each attempt. */
const VOLATILE = new Set(['sentAt', 'writeKey', '_metadata', 'integrations']);
const digest = (msg: Obj) =>
  createHash('sha256')
    .update(JSON.stringify(msg, (key, value) => (VOLATILE.has(key) ? undefined : value)))
    .digest('hex')
    .slice(0, 40);

const hasControlCharacter = (s: string) => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
};
