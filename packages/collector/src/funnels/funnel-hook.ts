import type { Types } from 'mongoose';
import { siteTimeZones } from '../analytics/index.js';
import type { Models, NewEventDoc } from '../models/index.js';
import type { ProfileMerged } from '../profiles/index.js';
import { SiteConfigCache } from '../sites/index.js';
import { dimsOf, stepMask } from './funnel-match.js';
import { applyToFunnel, type FunnelInput, type LiveFunnel, liveFunnel, type ProgressDeps } from './funnel-progress.js';
import { type FunnelEventDoc, personOf } from './funnel-scan.js';

/** Each site's saved funnels (`funnels`), by site id. */
export const loadFunnels = (models: Models) => async (siteIds: string[]) => {
  const docs = await models.Funnel.find({ siteId: { $in: siteIds } }).lean();
  const out = new Map<string, LiveFunnel[]>();
  for (const d of docs) {
    const f = liveFunnel(d);
    out.set(f.siteId, [...(out.get(f.siteId) ?? []), f]);
  }
  return out;
};

/** One funnel's inputs from stored events, whose person is already known. */
export function inputsOf(
  funnel: LiveFunnel,
  events: Array<Pick<FunnelEventDoc, 'name' | 'properties' | 'timestamp' | 'messageId' | 'source' | 'geo' | 'device'>>,
  people: string[],
): FunnelInput[] {
  const out: FunnelInput[] = [];
  events.forEach((e, i) => {
    const mask = stepMask(funnel.steps, e);
    if (!mask && funnel.order !== 'strict') return;
    out.push({
      person: people[i]!,
      t: e.timestamp.getTime(),
      mask,
      id: e.messageId,
      dims: mask & 1 ? dimsOf(e) : undefined,
    });
  });
  return out;
}

/**
 * The ingest worker's funnel step (wired once, in plugins/workers.ts): the events a job stored, applied to the
 * site's saved funnels. A person is the event's profile, else its visitor id; an event that carries both joins
 * the visitor id's progress to the profile's (and forwards the visitor id's later events there, see
 * applyToFunnel), so a visitor id linked by another job meanwhile is never left apart. Reads no MongoDB
 * document per event: the pipeline already put each linked visitor's profile on its events.
 */
export function createFunnelHook(deps: ProgressDeps) {
  const funnels = new SiteConfigCache(deps.redis, deps.prefix, loadFunnels(deps.models));
  const zones = siteTimeZones(deps.models);
  return async (
    events: NewEventDoc[],
    linked?: ReadonlyMap<string, Types.ObjectId>,
    merged?: readonly ProfileMerged[],
  ): Promise<void> => {
    const bySite = new Map<string, NewEventDoc[]>();
    for (const e of events) {
      if (e.bot) continue;
      const id = e.siteId.toString();
      bySite.set(id, [...(bySite.get(id) ?? []), e]);
    }
    if (!bySite.size) return;
    const active = await funnels.get([...bySite.keys()]);
    const sites = [...bySite.keys()].filter((s) => active.get(s)?.length);
    if (!sites.length) return;
    const tz = await zones(sites);
    for (const siteId of sites) {
      const list = bySite.get(siteId)!;
      const people = list.map((e) => personOf(e) ?? '');
      const merges = list.flatMap((e, i) =>
        e.anonymousId && people[i]!.startsWith('p:') ? [{ from: `a:${e.anonymousId}`, into: people[i]! }] : [],
      );
      // visitor ids the job linked otherwise (an alias, a link another job made while this one ran)
      for (const [key, profileId] of linked ?? []) {
        const at = key.indexOf(':');
        if (key.slice(0, at) === siteId)
          merges.push({ from: `a:${key.slice(at + 1)}`, into: `p:${profileId.toHexString()}` });
      }
      // profiles the job merged: the merged one's progress joins the survivor's
      for (const m of merged ?? []) {
        if (m.siteId.toHexString() === siteId)
          merges.push({ from: `p:${m.from.toHexString()}`, into: `p:${m.into.toHexString()}` });
      }
      const known = list.filter((_, i) => people[i]);
      const knownPeople = people.filter(Boolean);
      for (const funnel of active.get(siteId)!) {
        await applyToFunnel(deps, funnel, tz.get(siteId) ?? 'UTC', inputsOf(funnel, known, knownPeople), merges);
      }
    }
  };
}
