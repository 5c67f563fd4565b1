import type { Types } from 'mongoose';
import { siteTimeZones } from '../analytics/index.js';
import { identityKey, type Models, type NewEventDoc } from '../models/index.js';
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
 * site's saved funnels. A visitor id not yet identified is a person of its own until an event joins it to a
 * profile; then its progress moves to the profile's. The job writes its people's state, then reads their
 * visitor ids' links again (the identify's job does the reverse), so a link made meanwhile is never missed.
 */
export function createFunnelHook(deps: ProgressDeps) {
  const funnels = new SiteConfigCache(deps.redis, deps.prefix, loadFunnels(deps.models));
  const zones = siteTimeZones(deps.models);
  return async (events: NewEventDoc[]): Promise<void> => {
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
      const links = await linksOf(
        deps.models,
        siteId,
        list.filter((e) => !e.profileId && e.anonymousId).map((e) => e.anonymousId!),
      );
      const people = list.map((e) => {
        const linked = !e.profileId && e.anonymousId ? links.get(e.anonymousId) : undefined;
        return linked ? `p:${linked.toHexString()}` : (personOf(e) ?? '');
      });
      const merges = list.flatMap((e, i) =>
        e.anonymousId && people[i]!.startsWith('p:') ? [{ from: `a:${e.anonymousId}`, into: people[i]! }] : [],
      );
      const known = list.filter((_, i) => people[i]);
      const knownPeople = people.filter(Boolean);
      for (const funnel of active.get(siteId)!) {
        await applyToFunnel(deps, funnel, tz.get(siteId) ?? 'UTC', inputsOf(funnel, known, knownPeople), merges);
      }
      // visitor ids still on their own: linked meanwhile by another job?
      const alone = [...new Set(knownPeople.filter((p) => p.startsWith('a:')).map((p) => p.slice(2)))];
      const late = await linksOf(deps.models, siteId, alone);
      if (!late.size) continue;
      const lateMerges = [...late].map(([anon, profile]) => ({
        from: `a:${anon}`,
        into: `p:${profile.toHexString()}`,
      }));
      for (const funnel of active.get(siteId)!)
        await applyToFunnel(deps, funnel, tz.get(siteId) ?? 'UTC', [], lateMerges);
    }
  };
}

/** Visitor ids → their profile, for those linked (one `_id: { $in }` lookup). */
async function linksOf(models: Models, siteId: string, anonymousIds: string[]): Promise<Map<string, Types.ObjectId>> {
  if (!anonymousIds.length) return new Map();
  const docs = await models.Identity.find(
    { _id: { $in: [...new Set(anonymousIds)].map((a) => identityKey(siteId, a)) } },
    { anonymousId: 1, profileId: 1 },
  ).lean();
  return new Map(docs.map((d) => [d.anonymousId, d.profileId]));
}
