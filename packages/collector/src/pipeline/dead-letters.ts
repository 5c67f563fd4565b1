import type { Job } from 'bullmq';
import { Types } from 'mongoose';
import type { Models } from '../models/index.js';

/** Keeps a payload that could not be processed, with the reason: nothing is dropped silently. */
export async function deadLetter(
  models: Models,
  queue: string,
  job: Pick<Job, 'id' | 'attemptsMade'> | null,
  payload: unknown,
  reason: string,
  siteId?: string,
): Promise<void> {
  await models.DeadLetter.create({
    queue,
    jobId: job?.id ?? null,
    siteId: siteId && Types.ObjectId.isValid(siteId) ? new Types.ObjectId(siteId) : null,
    reason: reason.slice(0, 2_000),
    attempts: job ? job.attemptsMade + 1 : 0,
    payload,
    failedAt: new Date(),
  });
}
