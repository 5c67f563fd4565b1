import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Models, ProfileDoc, SegmentDoc } from '../models/index.js';
import { jobIdFor } from '../plugins/queues.js';
import { RELEASE_LOCK } from '../plugins/redis.js';
import { evaluate, factsById, peopleOf } from './evaluate.js';
import { dayKey } from './facts.js';
import { applyMembership, membersKey, readRevisions, refreshKey, touchedKey } from './membership.js';
import { hasDayWindow } from './rules.js';

export const SEGMENT_REFRESH_JOB = 'segment-refresh';
export interface SegmentRefreshJob {
  segmentId: string;
}

const LOCK_MS = 60_000;
const BATCH = 200;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

type RefreshRedis = Pick<Redis, 'set' | 'eval' | 'pipeline' | 'rename' | 'del' | 'spop' | 'zadd'>;

/** Asks the workers for a full evaluation of a segment (after it is created or changed, and each UTC midnight). */
export async function requestRefresh(
  queue: Pick<Queue, 'add'>,
  segment: Pick<SegmentDoc, '_id' | 'updatedAt'>,
  at?: Date,
): Promise<void> {
  const id = segment._id.toHexString();
  const stamp = at ? `day-${dayKey(at)}` : `v-${segment.updatedAt.getTime()}`;
  await queue.add(
    SEGMENT_REFRESH_JOB,
    { segmentId: id },
    { jobId: jobIdFor('seg', `${id}:${stamp}`), delay: at ? Math.max(0, at.getTime() - Date.now()) : 0 },
  );
}

/**
 * Evaluates every profile of the segment's site and replaces the member set with the outcome. Profiles are read
 * in one pass and their facts by `_id`; the new set is built beside the live one and renamed over it. While it
 * runs, the ingest worker keeps updating the live set and notes whom it re-evaluated (refreshKey/touchedKey);
 * those are evaluated again after the rename, so a change that raced the pass is not lost. One evaluation per
 * segment at a time (a Redis lock); `false` when another one holds it (the job is then retried).
 */
export async function refreshSegment(
  models: Models,
  redis: RefreshRedis,
  prefix: string,
  segmentId: string,
  queue?: Pick<Queue, 'add'>,
): Promise<{ members: number } | false | null> {
  const lock = refreshKey(prefix, segmentId);
  const token = randomUUID();
  if (!(await redis.set(lock, token, 'PX', LOCK_MS, 'NX'))) return false;
  try {
    const segment = await models.Segment.findById(segmentId).lean();
    if (!segment) return null;
    const now = new Date();
    const next = `${membersKey(prefix, segmentId)}:next:${token}`;
    let members = 0;
    let batch: Array<Pick<ProfileDoc, '_id' | 'email' | 'consent' | 'metadata'>> = [];
    const flush = async () => {
      const facts = await factsById(
        models,
        batch.map((p) => p._id),
      );
      const ids = evaluate(
        [segment],
        batch.map((profile) => ({
          profileId: profile._id.toHexString(),
          person: { profile, facts: facts.get(profile._id.toHexString()) ?? null },
        })),
        now,
      ).flatMap((m) => (m.member ? [m.profileId] : []));
      if (ids.length) await redis.zadd(next, ...ids.flatMap((id) => [0, id]));
      members += ids.length;
      batch = [];
      await redis.eval(RENEW, 1, lock, token, String(LOCK_MS));
    };
    const cursor = models.Profile.find({ siteId: segment.siteId }, { email: 1, consent: 1, metadata: 1 })
      .lean()
      .cursor();
    for await (const p of cursor) {
      batch.push(p);
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length) await flush();
    if (members) await redis.rename(next, membersKey(prefix, segmentId));
    else await redis.del(membersKey(prefix, segmentId));
    // whoever the worker re-evaluated during the pass: the pass may have read them before their change
    for (;;) {
      const touched = await redis.spop(touchedKey(prefix, segmentId), 500);
      if (!touched.length) break;
      const revisions = await readRevisions(redis, prefix, touched);
      const people = await peopleOf(
        models,
        segment.siteId,
        touched.map((id) => new Types.ObjectId(id)),
      );
      await applyMembership(redis, prefix, evaluate([segment], people, new Date()), revisions);
    }
    if (!(await models.Segment.exists({ _id: segment._id }))) {
      await redis.del(membersKey(prefix, segmentId)); // deleted meanwhile
      return null;
    }
    await models.Segment.updateOne(
      { _id: segment._id, updatedAt: segment.updatedAt },
      { $set: { evaluatedAt: new Date(), evaluatedDay: dayKey(now) } },
    );
    if (queue && hasDayWindow(segment.definition)) {
      const midnight = new Date(`${now.toISOString().slice(0, 10)}T00:00:00Z`);
      await requestRefresh(queue, segment, new Date(midnight.getTime() + 86_400_000 + 60_000));
    }
    return { members };
  } finally {
    await redis.eval(RELEASE_LOCK, 1, lock, token);
  }
}
