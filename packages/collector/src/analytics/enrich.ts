import type { Redis } from 'ioredis';
import type { EventDevice, EventGeo, EventSource, NewEventDoc, VisitDims } from '../models/index.js';
import type { QueuedEvent } from '../pipeline/index.js';
import { parseAgent } from './device.js';
import { sourceOf } from './source.js';
import { type AssignedVisit, assignVisits, browserOfKey, VISIT_IDLE_MS, type VisitRequest } from './visit-state.js';

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
const SERVER_START_JSON = JSON.stringify(SERVER_START);

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
 * (visit-state.ts): one script call per job, no database write, and a retried job lands in the same visits. A
 * server event joins its visitor's open visit and takes its source, device and place: the visitor is its
 * `anonymousId`, or the browser its profile was last seen on in the last 30 minutes (an order names a person,
 * not a browser); outside a browser's visit it is a visit of its own without a browser.
 */
export function createEnricher({ redis, prefix, idleMs = VISIT_IDLE_MS }: EnricherOptions): Enricher {
  return async (docs, events) => {
    const sites = docs.map((d) => d.siteId.toHexString());
    // the browser each identified person was last seen on in this job, for their server events
    const seen = new Map<string, string>();
    docs.forEach((d, i) => {
      if (d.sentBy === 'client' && d.profileId && d.anonymousId)
        seen.set(browserOfKey(prefix, sites[i]!, d.profileId.toHexString()), d.anonymousId);
    });
    // each client event's own device, bot flag and place
    const own: Array<Omit<VisitStart, 'source'> | null> = docs.map((d, i) => {
      if (d.sentBy !== 'client') return null;
      const agent = parseAgent(d.userAgent);
      return { device: agent.device, geo: events[i]!.geo ?? null, bot: agent.bot };
    });
    const order = docs.map((_, i) => i);
    order.sort((a, b) => docs[a]!.timestamp.getTime() - docs[b]!.timestamp.getTime());
    // the source is worked out only for events that can start a visit: a visitor's first event in the job, or
    // one after a pause of more than 30 minutes; the others join the visit their previous event is in
    const lastSeen = new Map<string, number>();
    const requests: VisitRequest[] = [];
    const asked: number[] = [];
    for (const i of order) {
      const d = docs[i]!;
      const ts = d.timestamp.getTime();
      const start = own[i];
      let request: VisitRequest | null = null;
      if (start) {
        if (!d.anonymousId) continue;
        const key = `${sites[i]}:${d.anonymousId}`;
        const prev = lastSeen.get(key);
        lastSeen.set(key, ts);
        const dims =
          prev !== undefined && ts - prev <= idleMs
            ? ''
            : JSON.stringify({ ...start, source: sourceOf(urlOf(d), referrerOf(d)) });
        request = { siteId: sites[i]!, visitor: d.anonymousId, ts, dims, joinOnly: false };
      } else {
        // a server event: its visitor's visit, else (a platform's order webhook, a visitor long gone) a visit of
        // its own without a browser, which adds orders and revenue, never a visit or a visitor
        const profile = d.profileId?.toHexString();
        const lookup = !d.anonymousId && profile ? browserOfKey(prefix, sites[i]!, profile) : undefined;
        request = {
          siteId: sites[i]!,
          visitor: d.anonymousId ?? (lookup && seen.get(lookup)) ?? '',
          lookup,
          ts,
          dims: '',
          joinOnly: true,
          alone: profile ? `profile:${profile}` : `event:${d.messageId}`,
        };
      }
      requests.push(request);
      asked.push(i);
    }
    const assigned = await assignVisits(redis, prefix, requests, {
      idleMs,
      aloneDims: SERVER_START_JSON,
      links: seen,
    });
    const starts = new Map<string, VisitStart>();
    const visitOf = new Array<AssignedVisit | null>(docs.length).fill(null);
    asked.forEach((i, k) => {
      visitOf[i] = assigned[k] ?? null;
    });
    docs.forEach((doc, i) => {
      const visit = visitOf[i];
      const mine = own[i];
      if (!visit) {
        // outside any visit (no visitor id): its own device and place only
        Object.assign(doc, {
          source: null,
          device: mine?.device ?? null,
          geo: mine?.geo ?? null,
          bot: mine?.bot ?? false,
          visitId: null,
        });
        return;
      }
      let start = starts.get(visit.id);
      if (!start) {
        start = JSON.parse(visit.dims) as VisitStart;
        starts.set(visit.id, start);
      }
      Object.assign(doc, {
        source: start.source,
        device: mine ? mine.device : start.device,
        geo: mine ? mine.geo : start.geo,
        bot: mine ? mine.bot : start.bot,
        visitId: visit.id,
      });
    });
  };
}
