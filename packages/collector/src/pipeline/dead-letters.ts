import type { Job } from 'bullmq';
import { Types } from 'mongoose';
import { isDocumentError, type Models } from '../models/index.js';

export interface DeadLetterItem {
  payload: unknown;
  reason: string;
  siteId?: string | null;
}

/** A payload MongoDB refused, kept as JSON text (JSON escapes what BSON cannot hold, such as NUL in keys). */
export interface UnstorablePayload {
  unstorable: true;
  json: string;
}

const MAX_JSON = 4 * 1024 * 1024;

const toSiteId = (siteId?: string | null) =>
  siteId && Types.ObjectId.isValid(siteId) ? new Types.ObjectId(siteId) : null;

function asJson(payload: unknown): UnstorablePayload {
  let json: string;
  try {
    json = JSON.stringify(payload) ?? 'null';
  } catch (err) {
    json = JSON.stringify({ error: `payload is not JSON: ${(err as Error).message}` });
  }
  return { unstorable: true, json: json.length > MAX_JSON ? json.slice(0, MAX_JSON) : json };
}

/**
 * Keeps payloads that could not be processed, with the reason: nothing is dropped silently. One insert for
 * all of them; a payload the database refuses for what it holds is kept as JSON text instead, so a dead letter
 * can always be written.
 */
export async function deadLetters(
  models: Models,
  queue: string,
  job: Pick<Job, 'id' | 'attemptsMade'> | null,
  items: DeadLetterItem[],
): Promise<void> {
  if (!items.length) return;
  const failedAt = new Date();
  const doc = (item: DeadLetterItem, payload: unknown) => ({
    queue,
    jobId: job?.id ?? null,
    siteId: toSiteId(item.siteId),
    reason: item.reason.slice(0, 2_000),
    attempts: job ? job.attemptsMade + 1 : 0,
    payload,
    failedAt,
  });
  try {
    await models.DeadLetter.insertMany(
      items.map((item) => doc(item, item.payload)),
      { lean: true },
    );
  } catch (err) {
    if (!isDocumentError(err)) throw err;
    for (const item of items) {
      await models.DeadLetter.insertMany([doc(item, item.payload)], { lean: true }).catch(async (e: unknown) => {
        if (!isDocumentError(e)) throw e;
        await models.DeadLetter.insertMany([doc(item, asJson(item.payload))], { lean: true });
      });
    }
  }
}

/** One dead letter (see deadLetters). */
export const deadLetter = (
  models: Models,
  queue: string,
  job: Pick<Job, 'id' | 'attemptsMade'> | null,
  payload: unknown,
  reason: string,
  siteId?: string,
) => deadLetters(models, queue, job, [{ payload, reason, siteId }]);
