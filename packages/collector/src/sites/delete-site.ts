import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import type { Models } from '../models/index.js';
import { deleteInSlices, siteSuppressionKey } from '../models/index.js';
import { jobsAtRest } from '../plugins/jobs-at-rest.js';
import { lockKeys, unlinkMatching, withRedisLock } from '../plugins/redis.js';
import { bumpSiteConfig } from './site-config-cache.js';

/** What a deleted site owned that other features keep Redis keys for (hex ids). */
export interface SiteOwned {
  siteId: string;
  campaignIds: string[];
  triggerIds: string[];
  segmentIds: string[];
}

/** A feature's part of a site's deletion: drops its Redis keys of what the site owned; answers how many. */
export type SiteKeyCleaner = (
  redis: Pick<Redis, 'scan' | 'unlink'>,
  prefix: string,
  owned: SiteOwned,
) => Promise<number>;

export interface DeleteSiteDeps {
  models: Models;
  redis: Pick<Redis, 'incr' | 'scan' | 'unlink' | 'set' | 'pexpire' | 'eval'>;
  prefix: string;
  queues: { ingest: Queue; triggers: Queue; webhooks: Queue };
  /**
   * The features' Redis keys of the site's campaigns, flows and segments (their results, run state and member
   * sets), wired in by the caller (app.ts, cli.ts): this folder knows no other feature's keys.
   */
  keyCleaners: SiteKeyCleaner[];
  /** How long to wait for jobs already being processed to finish (their events are then deleted too). */
  activeWaitMs?: number;
}

export interface SiteDeletion {
  siteId: string;
  deleted: Record<string, number>;
}

/** Deleted sites' events still queued or retried by browsers are dropped this long (as erased people's are). */
const SUPPRESS_DAYS = 30;
/** The roll-up locks' hold while clearing, renewed after each collection. */
const LOCK_MS = 60_000;
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Deletes a site and everything held about it. In order: its keys stop working (the site document goes) and
 * the workers are told to drop the site's events from then on (a site-wide suppression for 30 days, so events
 * still in browsers' retry queues cannot come back); its jobs waiting in Redis are removed; jobs a worker is
 * processing are waited for; then every collection is cleared of it (a slice at a time: FerretDB on SQLite
 * cannot delete more than 32,766 documents in one statement), and its keys in Redis: visitor sketches, roll-up
 * contributions pending and folded, and through `keyCleaners` its campaigns', flows' and segments'.
 */
export async function deleteSite(deps: DeleteSiteDeps, siteOid: Types.ObjectId): Promise<SiteDeletion> {
  const { models, queues } = deps;
  const siteId = siteOid.toHexString();
  const deleted: Record<string, number> = {};

  await models.Suppression.updateOne(
    { _id: siteSuppressionKey(siteId) },
    { $set: { siteId: siteOid, until: new Date(Date.now() + SUPPRESS_DAYS * 86_400_000) } },
    { upsert: true },
  );
  deleted.sites = (await models.Site.deleteOne({ _id: siteOid })).deletedCount;
  await bumpSiteConfig(deps.redis, deps.prefix, siteId);

  // Redis: the site's events in ingest jobs at rest, its trigger and webhook jobs
  let queuedEvents = 0;
  let queuedJobs = 0;
  for await (const job of jobsAtRest<IngestJobSites>(queues.ingest)) {
    const { dropped, left, kept } = withoutSite(job.data, siteId);
    if (!dropped) continue;
    queuedEvents += dropped;
    if (left) await job.updateData(kept);
    else await job.remove().catch(() => {}); // taken meanwhile: the suppression drops its events
  }
  // trigger jobs name the site in their entry id (`<trigger>:<site>:<messageId>`), confirmation e-mails directly,
  // broadcast runs their campaign, segment evaluations their segment
  const bySite = { siteId: siteOid };
  const owned: SiteOwned = {
    siteId,
    campaignIds: (await models.Campaign.find(bySite, { _id: 1 }).lean()).map((c) => c._id.toHexString()),
    triggerIds: (await models.Trigger.find(bySite, { _id: 1 }).lean()).map((t) => t._id.toHexString()),
    segmentIds: (await models.Segment.find(bySite, { _id: 1 }).lean()).map((g) => g._id.toHexString()),
  };
  const ownedJobs = new Set([...owned.campaignIds, ...owned.segmentIds]);
  type TriggerQueueJob = { entryId?: string; siteId?: string; campaignId?: string; segmentId?: string };
  for await (const job of jobsAtRest<TriggerQueueJob>(queues.triggers)) {
    const d = job.data;
    const mine =
      d?.entryId?.includes(`:${siteId}:`) ||
      d?.siteId === siteId ||
      ownedJobs.has(d?.campaignId ?? '') ||
      ownedJobs.has(d?.segmentId ?? '');
    if (!mine) continue;
    await job.remove().catch(() => {});
    queuedJobs++;
  }
  for await (const job of jobsAtRest<{ siteId?: string }>(queues.webhooks)) {
    if (job.data?.siteId !== siteId) continue;
    await job.remove().catch(() => {});
    queuedJobs++;
  }
  deleted.queuedEvents = queuedEvents;
  deleted.queuedJobs = queuedJobs;
  await activeJobsDone(queues.ingest, siteId, deps.activeWaitMs ?? 30_000);

  const { triggerIds } = owned;
  deleted.events = await deleteInSlices(models.Event, bySite);
  deleted.profiles = await deleteInSlices(models.Profile, bySite);
  deleted.identities = await deleteInSlices(models.Identity, bySite);
  await deleteInSlices(models.PendingAlias, bySite);
  await deleteInSlices(models.ProfileFacts, bySite);
  await deleteInSlices(models.Segment, bySite);
  await deleteInSlices(models.Campaign, bySite);
  await deleteInSlices(models.CampaignSend, bySite);
  await deleteInSlices(models.CampaignClaim, bySite);
  await deleteInSlices(models.ProfileMerge, bySite);
  await deleteInSlices(models.LinkQuota, bySite);
  deleted.triggers = await deleteInSlices(models.Trigger, bySite);
  deleted.triggerEntries = await deleteInSlices(models.TriggerEntry, bySite);
  deleted.triggerVisitors = triggerIds.length
    ? await deleteInSlices(models.TriggerVisitor, { _id: { $regex: `^(${triggerIds.join('|')}):` } })
    : 0;
  const funnelIds = (await models.Funnel.find(bySite, { _id: 1 }).lean()).map((f) => f._id);
  deleted.funnels = await deleteInSlices(models.Funnel, bySite);
  deleted.webhooks = await deleteInSlices(models.Webhook, bySite);
  deleted.deliveries = await deleteInSlices(models.Delivery, bySite);
  deleted.deadLetters = await deleteInSlices(models.DeadLetter, bySite);
  // The roll-up folder and the visit closer may be adding up contributions they read before the deletion:
  // holding their locks, the site's figures and sketches are cleared after them, and none of it comes back.
  let sketches = 0;
  deleted.metrics = await withRedisLock(deps.redis, lockKeys.fold(deps.prefix), LOCK_MS, (keepFold) =>
    withRedisLock(deps.redis, lockKeys.closer(deps.prefix), LOCK_MS, async (keepCloser) => {
      let metrics = 0;
      const steps: Array<() => Promise<number>> = [
        () => deleteInSlices(models.MetricsDaily, { siteId }),
        // what a version that kept pending contributions in MongoDB left there, until the folder moves it to Redis
        () => deleteInSlices(models.MetricsPending, { siteId }),
        () => deleteInSlices(models.MetricsFolded, { _id: { $regex: `^${escapeRegex(siteId)}:` } }),
        () => deleteInSlices(models.StatsBlock, { siteId }),
        () => deleteInSlices(models.Visit, bySite),
      ];
      for (const step of steps) {
        metrics += await step();
        await Promise.all([keepFold(), keepCloser()]);
      }
      // the daily sketches, pending and folded contributions (the folder then drops their buckets from its set), the
      // stats' sketches, blocks' copies and closed visits' records, open visits
      for (const kind of [
        'visitors',
        'rollup-pending',
        'rollup-folded',
        'uv',
        'sb',
        'vr',
        'vc',
        'visit',
        'visitmeta',
        'visitev',
      ])
        sketches += await unlinkMatching(deps.redis, `${deps.prefix}:${kind}:${siteId}:*`);
      sketches += await deps.redis.unlink(`${deps.prefix}:open-visits:${siteId}`);
      return metrics;
    }),
  );
  deleted.visitorSketches = sketches;
  // the browsers of identified people, saved funnels' state, records of events without a profile
  for (const kind of ['browser-of', ...(funnelIds.length ? ['funnel'] : [])])
    deleted.visitorSketches += await unlinkMatching(deps.redis, `${deps.prefix}:${kind}:${siteId}:*`);
  // records of events without a profile and their marks, and the copy of its links, holding the keeper's lock (it
  // marks sites' visitors and copies their links)
  deleted.visitorSketches += await withRedisLock(deps.redis, lockKeys.unlinked(deps.prefix), LOCK_MS, async () => {
    await deleteInSlices(models.UnlinkedVisitor, bySite);
    const n = await unlinkMatching(deps.redis, `${deps.prefix}:unlinked:${siteId}:*`);
    return (
      n +
      (await deps.redis.unlink(
        `${deps.prefix}:unlinked-ready:${siteId}`,
        `${deps.prefix}:unlinked-marked:${siteId}`,
        `${deps.prefix}:unlinked-marked-ready:${siteId}`,
        `${deps.prefix}:unlinked-marked-filling:${siteId}`,
        // the copy of its visitor-id links (pipeline/link-mirror.ts), made under the same lock
        `${deps.prefix}:links:${siteId}`,
        `${deps.prefix}:links-ready:${siteId}`,
        `${deps.prefix}:links-gen:${siteId}`,
        // which of its visitor ids may have pending aliases (pipeline/link-mirror.ts), filled under the same lock
        `${deps.prefix}:aliased:${siteId}`,
        `${deps.prefix}:aliased-ready:${siteId}`,
        `${deps.prefix}:aliased-filling:${siteId}`,
        // the copy of which profile holds each userId and e-mail (profiles/profile-keys-copy.ts), likewise
        `${deps.prefix}:profile-keys:${siteId}`,
        `${deps.prefix}:profile-keys-ready:${siteId}`,
        `${deps.prefix}:profile-keys-gen:${siteId}`,
        // and the copies of its triggers' re-entry guards (campaigns/trigger-entry.ts)
        ...triggerIds.flatMap((id) => [
          `${deps.prefix}:trig-guards:${id}`,
          `${deps.prefix}:trig-guards-ready:${id}`,
          `${deps.prefix}:trig-guards-gen:${id}`,
        ]),
      ))
    );
  });
  // its campaigns' and flows' results and run state, its segments' members, its people's last clicks
  deleted.campaignKeys = 0;
  for (const clean of deps.keyCleaners) deleted.campaignKeys += await clean(deps.redis, deps.prefix, owned);
  // the shop platforms' deliveries log (integrations/)
  deleted.platformDeliveryLogs = await unlinkMatching(deps.redis, `${deps.prefix}:hooks:${siteId}:*`);
  return { siteId, deleted };
}

/** Waits until no ingest job being processed holds the site's events (or `waitMs` passes). */
async function activeJobsDone(queue: Queue, siteId: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const active = await queue.getJobs(['active'], 0, 500);
    const busy = active.some((j) =>
      (j?.data as { events?: Array<{ siteId: string }> } | undefined)?.events?.some((e) => e.siteId === siteId),
    );
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An ingest job of either shape (pipeline/queued-event.ts): each event whole, or each request's fields once. */
type IngestJobSites =
  | { events: Array<{ siteId: string }> }
  | { requests: Array<{ siteId: string; events: unknown[] }> };

/** An ingest job without the site's events: how many it drops, how many are left, and the job's data then. */
function withoutSite(
  data: IngestJobSites | undefined,
  siteId: string,
): { dropped: number; left: number; kept: IngestJobSites } {
  if (!data) return { dropped: 0, left: 0, kept: { events: [] } };
  if ('events' in data) {
    const events = data.events.filter((e) => e.siteId !== siteId);
    return { dropped: data.events.length - events.length, left: events.length, kept: { events } };
  }
  const requests = data.requests.filter((r) => r.siteId !== siteId);
  const count = (list: Array<{ events: unknown[] }>) => list.reduce((n, r) => n + r.events.length, 0);
  const left = count(requests);
  return { dropped: count(data.requests) - left, left, kept: { requests } };
}
