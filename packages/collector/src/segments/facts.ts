import type { Types } from 'mongoose';
import type { FirstTouch, NewEventDoc, ProfileFactsDoc } from '../models/index.js';
import { currencyOf, refundOf, revenueOf } from '../rollups/index.js';

/** Days of per-day counts kept on each profile: the longest window an event rule may ask about. */
export const FACT_DAYS = 90;
/** Ingest job keys remembered per profile (a job retried after this many later jobs is not expected). */
const KEEP_JOBS = 32;
/** Visitor ids remembered per profile (beyond it, a visitor's earlier events are looked up again: harmless). */
const KEEP_VISITORS = 200;
/** The ISO 4217 code of "no currency": revenue of orders that name none. */
export const NO_CURRENCY = 'XXX';

/** UTC day of a date as `YYYYMMDD`. */
export const dayKey = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');

/** The facts of a profile nothing is known about yet. */
export function emptyFacts(profileId: Types.ObjectId, siteId: Types.ObjectId): ProfileFactsDoc {
  return {
    _id: profileId,
    siteId,
    firstSeen: null,
    lastSeen: null,
    firstTouch: null,
    country: null,
    counts: {},
    days: {},
    orders: 0,
    revenue: {},
    lastOrderAt: null,
    visitors: [],
    jobs: [],
    updatedAt: new Date(0),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function touchOf(e: Pick<NewEventDoc, 'source'>): FirstTouch | null {
  if (!e.source) return null;
  const { channel, referrerHost, utm } = e.source;
  return {
    channel: channel ?? null,
    source: utm?.source ?? referrerHost ?? null,
    medium: utm?.medium ?? null,
    campaign: utm?.campaign ?? null,
  };
}

/** E-mail hits (campaigns/) that a link scanner or privacy proxy made are recorded with `properties.suspect`. */
const MAIL_HITS = new Set(['email_click', 'email_open']);
const scannerHit = (e: Pick<NewEventDoc, 'name' | 'properties'>) =>
  MAIL_HITS.has(e.name) && typeof e.properties?.suspect === 'string';

/**
 * Adds events to a profile's facts (in place). Browser events flagged as bots are left out as they are of every
 * figure (a server's events are the shop's own word), and so are e-mail clicks and opens flagged as a scanner's
 * or a privacy proxy's (a segment on `did email_open` means people who opened); orders and refunds count when a
 * server sent them (a browser can claim anything), as in the roll-ups.
 */
export function addEvents(
  facts: ProfileFactsDoc,
  events: Array<Pick<NewEventDoc, 'name' | 'timestamp' | 'properties' | 'sentBy' | 'source' | 'geo' | 'bot'>>,
): ProfileFactsDoc {
  let countryAt = facts.lastSeen?.getTime() ?? 0;
  for (const e of events) {
    if ((e.bot && e.sentBy !== 'server') || scannerHit(e)) continue;
    const at = new Date(e.timestamp);
    const t = at.getTime();
    const touch = touchOf(e);
    if (!facts.firstSeen || t < facts.firstSeen.getTime()) {
      facts.firstSeen = at;
      if (touch) facts.firstTouch = touch;
    } else if (!facts.firstTouch && touch) facts.firstTouch = touch;
    if (!facts.lastSeen || t > facts.lastSeen.getTime()) facts.lastSeen = at;
    if (e.geo?.country && t >= countryAt) {
      facts.country = e.geo.country;
      countryAt = t;
    }
    facts.counts[e.name] = (facts.counts[e.name] ?? 0) + 1;
    const day = dayKey(at);
    const perDay = facts.days[e.name] ?? {};
    facts.days[e.name] = perDay;
    perDay[day] = (perDay[day] ?? 0) + 1;
    if (e.sentBy !== 'server') continue;
    const properties = e.properties ?? {};
    if (e.name === 'order_placed') {
      const currency = currencyOf(properties) ?? NO_CURRENCY;
      facts.orders += 1;
      facts.revenue[currency] = round2((facts.revenue[currency] ?? 0) + revenueOf(properties));
      if (!facts.lastOrderAt || t > facts.lastOrderAt.getTime()) facts.lastOrderAt = at;
    } else if (e.name === 'order_refunded') {
      const currency = currencyOf(properties) ?? NO_CURRENCY;
      facts.revenue[currency] = round2((facts.revenue[currency] ?? 0) - refundOf(properties));
    }
  }
  return facts;
}

/** Drops per-day counts older than FACT_DAYS (in place). */
export function pruneDays(facts: ProfileFactsDoc, now = new Date()): void {
  const oldest = dayKey(new Date(now.getTime() - (FACT_DAYS - 1) * 86_400_000));
  for (const [name, perDay] of Object.entries(facts.days)) {
    for (const day of Object.keys(perDay)) if (day < oldest) delete perDay[day];
    if (!Object.keys(perDay).length) delete facts.days[name];
  }
}

/** Remembers a job (and visitors) as counted, keeping the most recent ones. */
export function remember(facts: ProfileFactsDoc, jobKey: string | null, visitors: Iterable<string>): void {
  if (jobKey) facts.jobs = [...facts.jobs.filter((j) => j !== jobKey), jobKey].slice(-KEEP_JOBS);
  const known = new Set(facts.visitors);
  for (const v of visitors) if (!known.has(v)) facts.visitors.push(v);
  facts.visitors = facts.visitors.slice(-KEEP_VISITORS);
}
