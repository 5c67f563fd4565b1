import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { Models, ProfileFactsDoc } from '../models/index.js';
import { addEvents, emptyFacts, pruneDays, remember } from './facts.js';
import { bumpRevisions } from './membership.js';
import { withProfileLocks } from './profile-locks.js';
import { refreshSegment } from './refresh-segment.js';

export interface FactsRebuildResult {
  sites: number;
  events: number;
  profiles: number;
  segments: number;
}

const WRITE_BATCH = 200;

/**
 * `trackmate-collector segments facts [--site ID]`: computes every profile's facts again from its stored events
 * (for profiles stored before facts existed, or after a merge), then evaluates every segment of the site again.
 * One pass over the site's events, facts held in memory per profile (about 1 KB each) and written 200 at a time
 * under the worker's per-profile locks. It replaces what the worker counted: run it when ingestion is quiet, or
 * again afterwards, since an event stored while it runs may be counted by both.
 */
export async function rebuildFacts(
  models: Models,
  redis: Redis,
  prefix: string,
  options: { siteId?: string; progress?: (done: number, total: number) => void } = {},
): Promise<FactsRebuildResult> {
  if (options.siteId && !Types.ObjectId.isValid(options.siteId)) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `--site must be a site id, got "${options.siteId}"` });
  }
  const sites = options.siteId
    ? [new Types.ObjectId(options.siteId)]
    : (await models.Site.find({}, { _id: 1 }).lean()).map((s) => s._id);
  const result: FactsRebuildResult = { sites: sites.length, events: 0, profiles: 0, segments: 0 };
  const total = (await Promise.all(sites.map((siteId) => models.Event.countDocuments({ siteId })))).reduce(
    (a, b) => a + b,
    0,
  );
  for (const siteId of sites) {
    const facts = new Map<string, ProfileFactsDoc>();
    const visitors = new Map<string, Set<string>>();
    const cursor = models.Event.find(
      { siteId },
      { profileId: 1, anonymousId: 1, name: 1, timestamp: 1, properties: 1, sentBy: 1, source: 1, geo: 1, bot: 1 },
    )
      .lean()
      .cursor();
    for await (const e of cursor) {
      result.events++;
      if (result.events % 1_000 === 0) options.progress?.(result.events, total);
      if (!e.profileId) continue;
      const key = e.profileId.toHexString();
      let f = facts.get(key);
      if (!f) {
        f = emptyFacts(e.profileId, siteId);
        facts.set(key, f);
        visitors.set(key, new Set());
      }
      addEvents(f, [e]);
      if (e.anonymousId) visitors.get(key)!.add(e.anonymousId);
    }
    // profiles without a stored event get empty facts too, so that every profile has them
    for await (const p of models.Profile.find({ siteId }, { _id: 1 }).lean().cursor()) {
      const key = p._id.toHexString();
      if (!facts.has(key)) {
        facts.set(key, emptyFacts(p._id, siteId));
        visitors.set(key, new Set());
      }
    }
    const all = [...facts.values()];
    for (let i = 0; i < all.length; i += WRITE_BATCH) {
      const batch = all.slice(i, i + WRITE_BATCH);
      const now = new Date();
      for (const f of batch) {
        pruneDays(f, now);
        remember(f, null, visitors.get(f._id.toHexString()) ?? []);
        f.updatedAt = now;
      }
      await withProfileLocks(
        redis,
        prefix,
        batch.map((f) => f._id.toHexString()),
        async () => {
          await models.ProfileFacts.bulkWrite(
            batch.map((f) => ({ replaceOne: { filter: { _id: f._id }, replacement: f, upsert: true } })),
            { ordered: false },
          );
          // a worker's evaluation of facts it had before these no longer writes its outcome
          await bumpRevisions(
            redis,
            prefix,
            batch.map((f) => f._id.toHexString()),
          );
        },
      );
      result.profiles += batch.length;
    }
    for (const s of await models.Segment.find({ siteId }, { _id: 1 }).lean()) {
      while ((await refreshSegment(models, redis, prefix, s._id.toHexString())) === false) {
        await new Promise((r) => setTimeout(r, 1_000)); // a worker is evaluating it: wait for it, then again
      }
      result.segments++;
    }
  }
  options.progress?.(total, total);
  return result;
}
