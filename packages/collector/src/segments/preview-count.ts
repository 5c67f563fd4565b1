import type { Types } from 'mongoose';
import type { Models, ProfileDoc, SegmentDefinition } from '../models/index.js';
import { factsById } from './evaluate.js';
import { matches } from './rules.js';

/** Profiles one preview reads at most: a site with more gets the count among the first of them. */
export const PREVIEW_PROFILES = 20_000;
/** How long one preview reads at most (it answers a form being edited): the count is then of those read. */
export const PREVIEW_BUDGET_MS = 3_000;
const BATCH = 200;

/** Whether a definition looks at facts (events, orders, country, first touch) or at the profile alone. */
const needsFacts = (d: SegmentDefinition) =>
  d.rules.some((r) => r.type !== 'profile' || r.field === 'country' || r.field.startsWith('firstTouch.'));

/**
 * How many of the site's profiles a definition matches now, before it is saved (the console's count while the
 * rules are edited): the same rules the saved segment's evaluation applies, over one pass of the site's
 * profiles as stored (facts read by `_id` a batch at a time, and only when a rule looks at them), at most
 * `limit` of them and for at most `budgetMs` — `complete` says whether every profile was read. No sort: FerretDB
 * would read and sort every profile before the first. Nothing is written.
 */
export async function countDefinition(
  models: Pick<Models, 'Profile' | 'ProfileFacts'>,
  siteId: Types.ObjectId,
  definition: SegmentDefinition,
  limit = PREVIEW_PROFILES,
  budgetMs = PREVIEW_BUDGET_MS,
  now = new Date(),
): Promise<{ count: number; complete: boolean; scanned: number }> {
  const deadline = Date.now() + budgetMs;
  const withFacts = needsFacts(definition);
  let count = 0;
  let scanned = 0;
  let complete = true;
  let batch: Array<Pick<ProfileDoc, '_id' | 'email' | 'consent' | 'metadata'>> = [];
  const flush = async () => {
    const facts = withFacts
      ? await factsById(
          models,
          batch.map((p) => p._id),
        )
      : new Map();
    for (const profile of batch) {
      if (matches(definition, { profile, facts: facts.get(profile._id.toHexString()) ?? null }, now)) count++;
    }
    scanned += batch.length;
    batch = [];
  };
  const cursor = models.Profile.find({ siteId }, { email: 1, consent: 1, metadata: 1 })
    .limit(limit + 1)
    .lean()
    .cursor({ batchSize: 1_000 });
  try {
    for await (const p of cursor) {
      if (scanned + batch.length >= limit || Date.now() > deadline) {
        complete = false;
        break;
      }
      batch.push(p);
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length) await flush();
  } finally {
    await cursor.close();
  }
  return { count, complete, scanned };
}
