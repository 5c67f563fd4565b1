import type { FunnelStepDefinition } from '@trackmate/schema';
import type { Types } from 'mongoose';
import type { FunnelDayOutcome, Models } from '../models/index.js';
import { dayOutcomes, dimsOf, type FunnelEvent, type MatchOptions, stepMask } from './funnel-match.js';

/** At most this many people enter an unsaved funnel's scan (the answer says so when it stops there). */
export const FUNNEL_SCAN_VISITORS = 10_000;
/** At most this many events are read for the later steps (strict order reads every event of the people). */
export const FUNNEL_SCAN_EVENTS = 1_000_000;

/** Who an event belongs to: its profile when the visitor is identified (identify joins visitor ids), else its visitor id. */
export const personOf = (e: { profileId?: Types.ObjectId | null; anonymousId?: string | null }): string | null =>
  e.profileId ? `p:${e.profileId.toHexString()}` : e.anonymousId ? `a:${e.anonymousId}` : null;

/** An event as funnels read it. */
export interface FunnelEventDoc {
  _id: Types.ObjectId;
  profileId: Types.ObjectId | null;
  anonymousId: string | null;
  name: string;
  timestamp: Date;
  messageId: string;
  properties?: Record<string, unknown>;
  source?: { channel?: string } | null;
  geo?: { country?: string } | null;
  device?: { type?: string } | null;
}

export interface ScanOptions extends MatchOptions {
  fromMs: number;
  toMs: number;
  /** At most this many people (default FUNNEL_SCAN_VISITORS). */
  limit?: number;
  timezone: string;
}

/**
 * An unsaved funnel from the stored events, bounded: the people whose first step falls in [fromMs, toMs), the
 * first `limit` of them in time order, then their events up to the window's end after `toMs`. Bots are left out.
 */
export async function scanFunnel(
  models: Models,
  site: Types.ObjectId,
  steps: FunnelStepDefinition[],
  o: ScanOptions,
): Promise<{ people: FunnelDayOutcome[][]; limited: boolean; limit: number }> {
  const limit = o.limit ?? FUNNEL_SCAN_VISITORS;
  const needsProps = steps.some((s) => s.path !== undefined || s.property !== undefined);
  const projection = {
    profileId: 1,
    anonymousId: 1,
    name: 1,
    timestamp: 1,
    source: 1,
    geo: 1,
    device: 1,
    ...(needsProps ? { properties: 1 } : {}),
  };
  const notBot = { bot: { $ne: true } };

  // 1. who entered: first-step events of the range, oldest first, until `limit` people
  const people = new Set<string>();
  let limited = false;
  const entries = models.Event.find(
    { siteId: site, name: steps[0]!.event, timestamp: { $gte: new Date(o.fromMs), $lt: new Date(o.toMs) }, ...notBot },
    projection,
  )
    .sort({ timestamp: 1 })
    .lean<FunnelEventDoc[]>()
    .cursor();
  for await (const e of entries) {
    if (!(stepMask(steps, e) & 1)) continue;
    const p = personOf(e);
    if (!p || people.has(p)) continue;
    if (people.size === limit) {
      limited = true;
      break;
    }
    people.add(p);
  }
  await entries.close();

  // 2. their events up to the end of the window: the steps' events (one indexed range per name), or every
  // event for strict order (what happens between steps matters)
  const until = new Date(o.toMs + o.windowMs);
  const filters =
    o.order === 'strict'
      ? [{ siteId: site, timestamp: { $gte: new Date(o.fromMs), $lte: until }, ...notBot }]
      : [...new Set(steps.map((s) => s.event))].map((name) => ({
          siteId: site,
          name,
          timestamp: { $gte: new Date(o.fromMs), $lte: until },
          ...notBot,
        }));
  const byPerson = new Map<string, Array<FunnelEvent & { id: string }>>();
  let read = 0;
  for (const filter of filters) {
    const cursor = models.Event.find(filter, projection).lean<FunnelEventDoc[]>().cursor();
    for await (const e of cursor) {
      if (++read > FUNNEL_SCAN_EVENTS) {
        limited = true;
        break;
      }
      const p = personOf(e);
      if (!p || !people.has(p)) continue;
      const mask = stepMask(steps, e);
      if (!mask && o.order !== 'strict') continue;
      const list = byPerson.get(p) ?? [];
      list.push({ t: e.timestamp.getTime(), mask, dims: mask & 1 ? dimsOf(e) : undefined, id: e._id.toHexString() });
      byPerson.set(p, list);
    }
    await cursor.close();
  }

  const outcomes: FunnelDayOutcome[][] = [];
  for (const list of byPerson.values()) {
    list.sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const days = Object.values(dayOutcomes(list, o.fromMs, o.toMs, o, o.timezone));
    if (days.length) outcomes.push(days);
  }
  return { people: outcomes, limited, limit };
}
