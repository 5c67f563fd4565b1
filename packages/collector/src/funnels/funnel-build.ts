import { Types } from 'mongoose';
import type { FunnelDoc } from '../models/index.js';
import { inputsOf } from './funnel-hook.js';
import { applyToFunnel, liveFunnel, type ProgressDeps } from './funnel-progress.js';
import type { FunnelEventDoc } from './funnel-scan.js';
import { personOf } from './funnel-scan.js';

/** How far back a new saved funnel replays the stored events (the stats API's longest range). */
export const BUILD_DAYS = 366;
const BATCH = 2_000;

/**
 * Replays the site's stored events of the last BUILD_DAYS into a new saved funnel, a batch at a time (the steps'
 * events, one indexed range per name; every event for strict order), then marks it `ready`. The ingest worker
 * keeps it current meanwhile; an event applied by both counts once (its message id).
 */
export async function buildFunnel(deps: ProgressDeps, doc: FunnelDoc, timezone: string): Promise<void> {
  const funnel = liveFunnel(doc);
  const since = new Date(Date.now() - BUILD_DAYS * 86_400_000);
  const filters =
    funnel.order === 'strict'
      ? [{ siteId: doc.siteId, timestamp: { $gte: since } }]
      : [...new Set(funnel.steps.map((s) => s.event))].map((name) => ({
          siteId: doc.siteId,
          name,
          timestamp: { $gte: since },
        }));
  for (const filter of filters) {
    const cursor = deps.models.Event.find(
      { ...filter, bot: { $ne: true } },
      {
        profileId: 1,
        anonymousId: 1,
        name: 1,
        timestamp: 1,
        messageId: 1,
        properties: 1,
        source: 1,
        geo: 1,
        device: 1,
      },
    )
      .lean<FunnelEventDoc[]>()
      .cursor({ batchSize: BATCH });
    let batch: FunnelEventDoc[] = [];
    const flush = async () => {
      const known = batch.filter((e) => personOf(e));
      await applyToFunnel(
        deps,
        funnel,
        timezone,
        inputsOf(
          funnel,
          known,
          known.map((e) => personOf(e)!),
        ),
      );
      batch = [];
    };
    for await (const e of cursor) {
      batch.push(e);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  }
  await deps.models.Funnel.updateOne({ _id: new Types.ObjectId(funnel.id) }, { $set: { status: 'ready' } });
}
