import type { Types } from 'mongoose';
import type { EventSource, Models } from '../models/index.js';
import { currencyOf, revenueOf } from '../rollups/index.js';

/** A moment the buyer came in: a visit (its first event's source), or another kind a caller adds (an e-mail click). */
export interface Touch {
  at: Date;
  channel: string;
  /** utm_source, else the referring host, else `(direct)`. */
  source: string;
  /** utm_campaign (or a campaign's id for an e-mail click), else `(none)`. */
  campaign: string;
}

/** A server order, as attribution sees it. */
export interface Order {
  at: Date;
  profileId: Types.ObjectId | null;
  anonymousId: string | null;
  revenue: number;
  /** ISO 4217 code, or `(none)`. */
  currency: string;
  /** The profile, or the visitor id when the order names no profile. */
  buyer: string;
}

export interface Credit {
  order: Order;
  /** The first touch within the lookback, or null when the buyer has none. */
  first: Touch | null;
  /** The last touch within the lookback that was not Direct; the last Direct one when all were. */
  last: Touch | null;
}

/** More touches of a buyer in a time span (e.g. e-mail clicks on the profile), beside their visits. */
export type TouchSource = (
  siteId: Types.ObjectId,
  buyer: { profileId: Types.ObjectId | null; anonymousIds: string[] },
  since: Date,
  until: Date,
) => Promise<Touch[]>;

const NONE = '(none)';

/** A visit's touch from the source its first event carries. */
export const touchOfSource = (at: Date, s: EventSource): Touch => ({
  at,
  channel: s.channel,
  source: s.utm?.source ?? s.referrerHost ?? '(direct)',
  campaign: s.utm?.campaign ?? NONE,
});

/** Server orders (`order_placed` sent with a secret key) of [from, to), bots never send them. */
export async function ordersBetween(models: Models, siteId: Types.ObjectId, from: Date, to: Date): Promise<Order[]> {
  const docs = await models.Event.find(
    { siteId, name: 'order_placed', timestamp: { $gte: from, $lt: to }, sentBy: 'server' },
    { timestamp: 1, profileId: 1, anonymousId: 1, properties: 1 },
  ).lean();
  return docs.flatMap((d) => {
    const buyer = d.profileId ? `p:${d.profileId.toHexString()}` : d.anonymousId ? `a:${d.anonymousId}` : null;
    if (!buyer) return [];
    return [
      {
        at: d.timestamp,
        profileId: d.profileId,
        anonymousId: d.anonymousId,
        revenue: revenueOf(d.properties ?? {}),
        currency: currencyOf(d.properties ?? {}) ?? NONE,
        buyer,
      },
    ];
  });
}

/**
 * The visits of some visitor ids in [since, until], one touch each (its first browser event there): one indexed
 * query per visitor id (`siteId, anonymousId`), since an `$in` over many is a scan on FerretDB.
 */
async function visitTouches(models: Models, siteId: Types.ObjectId, anonymousIds: string[], since: Date, until: Date) {
  const touches: Touch[] = [];
  for (const anonymousId of anonymousIds) {
    const events = await models.Event.find(
      { siteId, anonymousId, timestamp: { $gte: since, $lte: until }, sentBy: 'client', bot: { $ne: true } },
      { timestamp: 1, source: 1, visitId: 1 },
    ).lean();
    const firstOfVisit = new Map<string, { at: Date; source: EventSource }>();
    for (const e of events) {
      if (!e.source) continue;
      const key = e.visitId ?? e._id.toHexString();
      const seen = firstOfVisit.get(key);
      if (!seen || e.timestamp < seen.at) firstOfVisit.set(key, { at: e.timestamp, source: e.source });
    }
    for (const v of firstOfVisit.values()) touches.push(touchOfSource(v.at, v.source));
  }
  return touches;
}

/** The first and last non-direct touch of a buyer's touches before an order, within the lookback. */
export function creditOf(order: Order, touches: Touch[], lookbackMs: number): Credit {
  const since = order.at.getTime() - lookbackMs;
  const inReach = touches
    .filter((t) => t.at.getTime() >= since && t.at.getTime() <= order.at.getTime())
    .sort((a, b) => a.at.getTime() - b.at.getTime());
  const nonDirect = inReach.filter((t) => t.channel !== 'Direct');
  return { order, first: inReach[0] ?? null, last: nonDirect.at(-1) ?? inReach.at(-1) ?? null };
}

/**
 * Each order credited to its buyer's first touch and last non-direct touch within `lookbackMs` before it. The
 * buyer's visitor ids are those linked to the order's profile (identities), plus the order's own; each buyer's
 * touches are read once for all their orders. `more` adds touches of other kinds (e.g. campaign e-mail clicks).
 */
export async function attributeOrders(
  models: Models,
  site: Types.ObjectId,
  orders: Order[],
  lookbackMs: number,
  more: TouchSource[] = [],
): Promise<Credit[]> {
  const byBuyer = new Map<string, Order[]>();
  for (const o of orders) byBuyer.set(o.buyer, [...(byBuyer.get(o.buyer) ?? []), o]);
  const credits: Credit[] = [];
  for (const list of byBuyer.values()) {
    const { profileId } = list[0]!;
    const ids = new Set(list.flatMap((o) => (o.anonymousId ? [o.anonymousId] : [])));
    if (profileId) {
      const links = await models.Identity.find({ siteId: site, profileId }, { anonymousId: 1 }).lean();
      for (const l of links) ids.add(l.anonymousId);
    }
    const since = new Date(Math.min(...list.map((o) => o.at.getTime())) - lookbackMs);
    const until = new Date(Math.max(...list.map((o) => o.at.getTime())));
    const buyer = { profileId, anonymousIds: [...ids] };
    const touches = await visitTouches(models, site, buyer.anonymousIds, since, until);
    for (const source of more) touches.push(...(await source(site, buyer, since, until)));
    for (const o of list) credits.push(creditOf(o, touches, lookbackMs));
  }
  return credits;
}

/** Buyers among `buyers` with a server order before `before` (returning customers). */
export async function returningBuyers(
  models: Models,
  site: Types.ObjectId,
  buyers: Array<{ buyer: string; profileId: Types.ObjectId | null; anonymousId: string | null }>,
  before: Date,
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const b of buyers) {
    const who = b.profileId ? { profileId: b.profileId } : { anonymousId: b.anonymousId };
    const earlier = await models.Event.findOne(
      { siteId: site, ...who, name: 'order_placed', sentBy: 'server', timestamp: { $lt: before } },
      { _id: 1 },
    ).lean();
    if (earlier) out.add(b.buyer);
  }
  return out;
}
