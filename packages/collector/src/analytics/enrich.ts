import type { Redis } from 'ioredis';
import type { EventDevice, EventGeo, EventSource, NewEventDoc, VisitDims } from '../models/index.js';
import type { QueuedEvent } from '../pipeline/index.js';
import { parseAgent } from './device.js';
import { sourceOf } from './source.js';
import { assignVisits, VISIT_IDLE_MS } from './visit-state.js';

/** The visit's fixed part, carried in Redis while it is open. */
interface VisitStart {
  source: EventSource;
  device: EventDevice | null;
  geo: EventGeo | null;
  bot: boolean;
}

type Located = Pick<NewEventDoc, 'name' | 'properties' | 'context'>;

/** The page an event is on: page_view's url, else the page the SDK put in its context. */
export function urlOf(e: Located): string | undefined {
  if (e.name === 'page_view' && typeof e.properties.url === 'string') return e.properties.url;
  const p = e.context?.page as Record<string, unknown> | undefined;
  return typeof p?.url === 'string' ? p.url : undefined;
}

function referrerOf(e: Located): unknown {
  if (e.name === 'page_view' && typeof e.properties.referrer === 'string') return e.properties.referrer;
  return (e.context?.page as Record<string, unknown> | undefined)?.referrer;
}

/** What a visit of server events alone is: no source, device or place. */
const SERVER_START: VisitStart = {
  source: {
    channel: '(none)',
    referrerHost: null,
    utm: { source: null, medium: null, campaign: null, term: null, content: null },
    clickId: null,
  },
  device: null,
  geo: null,
  bot: false,
};

/** What a visit's first event fixes: source, device and place, and whether a bot sent it. */
export function visitStartOf(doc: NewEventDoc, geo: EventGeo | null): VisitStart {
  const agent = parseAgent(doc.userAgent);
  return { source: sourceOf(urlOf(doc), referrerOf(doc)), device: agent.device, geo, bot: agent.bot };
}

export const dimsOf = (v: VisitStart): VisitDims => ({
  channel: v.source.channel,
  referrer: v.source.referrerHost,
  utmSource: v.source.utm.source,
  utmMedium: v.source.utm.medium,
  utmCampaign: v.source.utm.campaign,
  utmTerm: v.source.utm.term,
  utmContent: v.source.utm.content,
  country: v.geo?.country ?? null,
  region: v.geo?.region ?? null,
  browser: v.device?.browser ?? null,
  os: v.device?.os ?? null,
  device: v.device?.type ?? null,
  bot: v.bot,
});

export interface EnricherOptions {
  redis: Redis;
  prefix: string;
  idleMs?: number;
}

/** Enriches one ingest job's documents in place before they are stored (`events`: what they were made from). */
export type Enricher = (docs: NewEventDoc[], events: QueuedEvent[]) => Promise<void>;

/**
 * Enrichment, done once by the ingest worker and stored on the event: source (channel, referrer, UTM, click id:
 * the visit's, fixed by its first event), device and bot flag from the user agent, place (looked up by the
 * collector at ingest, before the address was anonymised), and the visit, held in Redis while it is open
 * (visit-state.ts): no database write, and a retried job lands in the same visits. A server event joins its visitor's open visit and
 * takes its source, device and place: the visitor is its `anonymousId`, or the browser its profile was last
 * seen on in the last 30 minutes (an order names a person, not a browser); outside a visit it belongs to none.
 */
export function createEnricher({ redis, prefix, idleMs = VISIT_IDLE_MS }: EnricherOptions): Enricher {
  const browserOf = (siteId: string, profileId: string) => `${prefix}:browser-of:${siteId}:${profileId}`;
  return async (docs, events) => {
    for (const doc of docs) Object.assign(doc, { source: null, device: null, geo: null, bot: false, visitId: null });
    const visitors: Array<string | null> = docs.map((d) => d.anonymousId);
    // the browser each identified person was last seen on, for their server events
    const seen = new Map<string, string>();
    for (const d of docs) {
      if (d.sentBy === 'client' && d.profileId && d.anonymousId)
        seen.set(browserOf(d.siteId.toString(), d.profileId.toString()), d.anonymousId);
    }
    const unknown = [
      ...new Set(
        docs.flatMap((d) =>
          d.sentBy === 'server' && !d.anonymousId && d.profileId
            ? [browserOf(d.siteId.toString(), d.profileId.toString())]
            : [],
        ),
      ),
    ].filter((k) => !seen.has(k));
    const identified = new Map(seen);
    if (unknown.length) {
      const found = await redis.mget(...unknown);
      for (const [i, k] of unknown.entries()) if (found[i]) seen.set(k, found[i]!);
    }
    docs.forEach((d, i) => {
      if (!visitors[i] && d.sentBy === 'server' && d.profileId)
        visitors[i] = seen.get(browserOf(d.siteId.toString(), d.profileId.toString())) ?? null;
    });

    const order = docs.map((_, i) => i).filter((i) => visitors[i]);
    order.sort((a, b) => docs[a]!.timestamp.getTime() - docs[b]!.timestamp.getTime());
    // each client event's own device, bot flag and place
    const starts: Array<Omit<VisitStart, 'source'> | null> = docs.map((d, i) => {
      if (d.sentBy !== 'client') return null;
      const agent = parseAgent(d.userAgent);
      return { device: agent.device, geo: events[i]!.geo ?? null, bot: agent.bot };
    });
    // the source is worked out only for events that can start a visit: a visitor's first event in the job, or
    // one after a pause of more than 30 minutes; the others join the visit their previous event is in
    const lastSeen = new Map<string, number>();
    const dimsFor = (i: number): object => {
      const d = docs[i]!;
      const key = `${d.siteId.toString()}:${visitors[i]}`;
      const ts = d.timestamp.getTime();
      const prev = lastSeen.get(key);
      lastSeen.set(key, ts);
      return prev !== undefined && ts - prev <= idleMs
        ? {}
        : { ...starts[i]!, source: sourceOf(urlOf(d), referrerOf(d)) };
    };
    const request = (i: number, visitor: string, dims: object, joinOnly: boolean) => ({
      siteId: docs[i]!.siteId.toString(),
      visitor,
      ts: docs[i]!.timestamp.getTime(),
      dims,
      joinOnly,
    });
    const assigned = await assignVisits(
      redis,
      prefix,
      order.map((i) => request(i, visitors[i]!, starts[i] ? dimsFor(i) : {}, !starts[i])),
      idleMs,
    );
    // a server event outside any browser's visit (a platform's order webhook, a visitor long gone) is a visit of
    // its own without a browser: it adds orders and revenue, never a visit or a visitor
    const alone = docs
      .map((_, i) => i)
      .filter((i) => docs[i]!.sentBy === 'server' && (!visitors[i] || !assigned[order.indexOf(i)]));
    if (alone.length) {
      const own = await assignVisits(
        redis,
        prefix,
        alone.map((i) => {
          const d = docs[i]!;
          return request(
            i,
            d.profileId ? `profile:${d.profileId.toString()}` : `event:${d.messageId}`,
            SERVER_START,
            false,
          );
        }),
        idleMs,
      );
      for (const [k, i] of alone.entries()) {
        if (!visitors[i]) {
          order.push(i);
          assigned.push(own[k] ?? null);
        } else assigned[order.indexOf(i)] = own[k] ?? null;
      }
    }
    order.forEach((i, k) => {
      const doc = docs[i]!;
      const visit = assigned[k];
      if (!visit) return;
      const start = JSON.parse(visit.dims) as VisitStart;
      const own = starts[i];
      Object.assign(doc, {
        source: start.source,
        device: own ? own.device : start.device,
        geo: own ? own.geo : start.geo,
        bot: own ? own.bot : start.bot,
        visitId: visit.id,
      });
    });
    // outside any visit (no visitor id, or a server event with no open visit): its own device and place only
    docs.forEach((d, i) => {
      if (!d.visitId && starts[i])
        Object.assign(d, { device: starts[i]!.device, geo: starts[i]!.geo, bot: starts[i]!.bot });
    });
    if (identified.size) {
      const pipeline = redis.pipeline();
      for (const [key, visitor] of identified) pipeline.set(key, visitor, 'PX', idleMs);
      await pipeline.exec();
    }
  };
}
