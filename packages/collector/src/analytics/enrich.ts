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

/** Bounded memo tables, emptied when full (a site sees few distinct landings, agents and visit starts). */
const MEMO_MAX = 20_000;
function memo<K, V>(table: Map<K, V>, key: K, make: () => V): V {
  let v = table.get(key);
  if (v === undefined) {
    v = make();
    if (table.size >= MEMO_MAX) table.clear();
    table.set(key, v);
  }
  return v;
}

/**
 * What decides a landing's source: the page URL's scheme, host and query (not its path) and the referrer's
 * scheme and host; strings that are no URLs are their own key.
 */
const URL_HEAD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)[^?#]*(\?[^#]*)?/i;
export const sourceKey = (url: string | undefined, referrer: unknown) => {
  const u = url === undefined ? '' : URL_HEAD.exec(url);
  const r = typeof referrer === 'string' ? (URL_HEAD.exec(referrer)?.[1] ?? `~${referrer}`) : '';
  return `${u === '' ? '' : u ? `${u[1]}${u[2] ?? ''}` : `~${url}`}\u0001${r}`;
};
const sources = new Map<string, string>();
const devices = new WeakMap<object, string>();
const starts = new Map<string, VisitStart>();

/** A visit start as JSON, without building it: the source memoised by what decides it, the device per agent. */
function startJson(d: NewEventDoc, agent: { device: EventDevice; bot: boolean }, geo: EventGeo | null): string {
  const url = urlOf(d);
  const referrer = referrerOf(d);
  const source = memo(sources, sourceKey(url, referrer), () => JSON.stringify(sourceOf(url, referrer)));
  let device = devices.get(agent.device);
  if (device === undefined) {
    device = JSON.stringify(agent.device);
    devices.set(agent.device, device);
  }
  return `{"source":${source},"device":${device},"geo":${geo ? JSON.stringify(geo) : 'null'},"bot":${agent.bot}}`;
}

/**
 * Enrichment, done once by the ingest worker and stored on the event: source (channel, referrer, UTM, click id:
 * the visit's, fixed by its first event), device and bot flag from the user agent, place (looked up by the
 * collector at ingest, before the address was anonymised), and the visit, held in Redis while it is open
 * (visit-state.ts): one script call per job, no database write, and a retried job lands in the same visits. A
 * server event joins its visitor's open visit and takes its source, device and place: the visitor is its
 * `anonymousId`, or the browser its profile was last seen on in the last 30 minutes (an order names a person,
 * not a browser); outside a browser's visit it is a visit of its own without a browser. Sources, devices and
 * visit starts are memoised per process, so a job's cost is mostly its one script call.
 */
export function createEnricher({ redis, prefix, idleMs = VISIT_IDLE_MS }: EnricherOptions): Enricher {
  return async (docs, events) => {
    const n = docs.length;
    const sites = new Array<string>(n);
    const agents = new Array<ReturnType<typeof parseAgent> | null>(n);
    // the browser each identified person was last seen on in this job, for their server events
    const seen = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const d = docs[i]!;
      sites[i] = d.siteId.toHexString();
      const client = d.sentBy === 'client';
      agents[i] = client ? parseAgent(d.userAgent) : null;
      if (client && d.profileId && d.anonymousId)
        seen.set(browserOfKey(prefix, sites[i]!, d.profileId.toHexString()), d.anonymousId);
    }
    const order = Array.from({ length: n }, (_, i) => i);
    const times = docs.map((d) => d.timestamp.getTime());
    order.sort((a, b) => times[a]! - times[b]!);
    // the source is worked out only for events that can start a visit: a visitor's first event in the job, or
    // one after a pause of more than 30 minutes; the others join the visit their previous event is in
    const lastSeen = new Map<string, number>();
    const requests: VisitRequest[] = [];
    const asked: number[] = [];
    for (const i of order) {
      const d = docs[i]!;
      const ts = times[i]!;
      const agent = agents[i];
      if (agent) {
        if (!d.anonymousId) continue;
        const key = `${sites[i]}:${d.anonymousId}`;
        const prev = lastSeen.get(key);
        lastSeen.set(key, ts);
        const dims = prev !== undefined && ts - prev <= idleMs ? '' : startJson(d, agent, events[i]!.geo ?? null);
        requests.push({ siteId: sites[i]!, visitor: d.anonymousId, ts, dims, joinOnly: false });
      } else {
        // a server event: its visitor's visit, else (a platform's order webhook, a visitor long gone) a visit of
        // its own without a browser, which adds orders and revenue, never a visit or a visitor
        const profile = d.profileId?.toHexString();
        const lookup = !d.anonymousId && profile ? browserOfKey(prefix, sites[i]!, profile) : undefined;
        requests.push({
          siteId: sites[i]!,
          visitor: d.anonymousId ?? (lookup && seen.get(lookup)) ?? '',
          lookup,
          ts,
          dims: '',
          joinOnly: true,
          alone: profile ? `profile:${profile}` : `event:${d.messageId}`,
        });
      }
      asked.push(i);
    }
    const assigned = await assignVisits(redis, prefix, requests, {
      idleMs,
      aloneDims: SERVER_START_JSON,
      links: seen,
    });
    const visitOf = new Array<AssignedVisit | null>(n).fill(null);
    for (let k = 0; k < asked.length; k++) visitOf[asked[k]!] = assigned[k] ?? null;
    for (let i = 0; i < n; i++) {
      const doc = docs[i]!;
      const visit = visitOf[i];
      const agent = agents[i];
      const geo = agent ? (events[i]!.geo ?? null) : null;
      if (!visit) {
        // outside any visit (no visitor id): its own device and place only
        doc.source = null;
        doc.device = agent?.device ?? null;
        doc.geo = geo;
        doc.bot = agent?.bot ?? false;
        doc.visitId = null;
        continue;
      }
      const start = memo(starts, visit.dims, () => JSON.parse(visit.dims) as VisitStart);
      doc.source = start.source;
      doc.device = agent ? agent.device : start.device;
      doc.geo = agent ? geo : start.geo;
      doc.bot = agent ? agent.bot : start.bot;
      doc.visitId = visit.id;
    }
  };
}
