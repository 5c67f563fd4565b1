import type { Model } from 'mongoose';
import type { Config } from '../config.js';
import { loggable } from '../errors.js';
import type { Models } from '../models/index.js';
import { startHourly } from '../plugins/hourly.js';

const BATCH = 1_000;

export interface Removed {
  events: number;
  deliveries: number;
  deadLetters: number;
}

/** Deletes what `field` dates before `cutoff`, a batch at a time (no long delete holding the database). */
async function deleteBefore<T>(model: Model<T>, field: string, cutoff: Date): Promise<number> {
  let removed = 0;
  for (;;) {
    const ids = (
      await model
        .find({ [field]: { $lt: cutoff } }, { _id: 1 })
        .limit(BATCH)
        .lean<Array<{ _id: unknown }>>()
    ).map((d) => d._id);
    if (!ids.length) return removed;
    removed += (await model.deleteMany({ _id: { $in: ids } })).deletedCount;
    if (ids.length < BATCH) return removed;
  }
}

/**
 * Retention (`TRACKMATE_RETENTION_DAYS`): events received, deliveries made and dead letters failed more than
 * `days` ago are deleted. FerretDB 1.x has no TTL indexes, so this is a scheduled job; it is idempotent, so
 * workers on several machines may run it at once. Roll-ups (metrics_daily) are kept: they hold no person.
 */
export async function removeExpired(models: Models, days: number, now = Date.now()): Promise<Removed> {
  const cutoff = new Date(now - days * 86_400_000);
  return {
    events: await deleteBefore(models.Event, 'receivedAt', cutoff),
    deliveries: await deleteBefore(models.Delivery, 'at', cutoff),
    deadLetters: await deleteBefore(models.DeadLetter, 'failedAt', cutoff),
  };
}

/** Runs removeExpired soon after start and then hourly, when a retention is configured. */
export function startRetention(
  config: Config,
  models: Models,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
): { stop(): Promise<void> } {
  if (!config.retentionDays) return { stop: async () => {} };
  return startHourly(
    () =>
      removeExpired(models, config.retentionDays)
        .then((removed) => {
          if (removed.events || removed.deliveries || removed.deadLetters)
            log.info({ removed }, 'retention: expired data deleted');
        })
        .catch((err) => log.warn({ err: loggable(err) }, 'retention pass failed; retrying in an hour')),
    { firstMs: 60_000 },
  );
}
