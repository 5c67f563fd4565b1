import type { Redis } from 'ioredis';
import type { SiteKeyCleaner } from '../sites/index.js';

/**
 * A segment's members: a Redis sorted set of profile ids (all scored 0, so in id order), one per segment. Adding
 * or removing a member is atomic and idempotent, the count is ZCARD (constant time however many profiles a
 * site has) and a page is a range by id. The set is derived data: a full evaluation (refresh-segment.ts) writes
 * it again from the profiles and their facts.
 */
export const membersKey = (prefix: string, segmentId: string) => `${prefix}:segment:${segmentId}`;
/** Present while a full evaluation runs: the worker then also notes the profiles it re-evaluated. */
export const refreshKey = (prefix: string, segmentId: string) => `${prefix}:segment-refresh:${segmentId}`;
export const touchedKey = (prefix: string, segmentId: string) => `${prefix}:segment-touched:${segmentId}`;
/**
 * A profile's revision: raised after each change a segment can see (its facts by the worker, the profile by the
 * API or a consent link), before the change is evaluated. An evaluation reads the revision before it reads the
 * profile and facts, and its outcome is written only while the revision is still that one: an evaluation that
 * read older data than another change never overwrites the outcome of that change's own evaluation (which read
 * after it). Without it, an ingest job that read a profile just before a PATCH added a tag wrote "not a member"
 * after the PATCH's evaluation had written "member", and nothing evaluated the person again.
 */
export const revisionKey = (prefix: string, profileId: string) => `${prefix}:profile-rev:${profileId}`;
/** A revision outlives any evaluation by far; a profile unchanged this long has none (read as 0). */
const REVISION_TTL_MS = 86_400_000;

const APPLY = `
if (redis.call('get', KEYS[4]) or '0') ~= ARGV[3] then return 0 end
if ARGV[2] == '1' then redis.call('zadd', KEYS[1], 0, ARGV[1]) else redis.call('zrem', KEYS[1], ARGV[1]) end
if redis.call('exists', KEYS[2]) == 1 then redis.call('sadd', KEYS[3], ARGV[1]) end
return 1`;

/** Each profile's revision by id, as evaluations compare it. */
export type Revisions = Map<string, string>;

/** Raises the profiles' revisions after a change (one round trip); the evaluation of the change carries them. */
export async function bumpRevisions(redis: Pick<Redis, 'pipeline'>, prefix: string, profileIds: string[]) {
  const ids = [...new Set(profileIds)];
  if (!ids.length) return new Map() as Revisions;
  const pipe = redis.pipeline();
  for (const id of ids) pipe.incr(revisionKey(prefix, id)).pexpire(revisionKey(prefix, id), REVISION_TTL_MS);
  const answers = (await pipe.exec()) ?? [];
  const failed = answers.find(([err]) => err);
  if (failed) throw failed[0];
  return new Map(ids.map((id, i) => [id, String(answers[2 * i]![1])])) as Revisions;
}

/** The profiles' revisions now, for an evaluation that changes nothing itself (read before the profiles are). */
export async function readRevisions(redis: Pick<Redis, 'pipeline'>, prefix: string, profileIds: string[]) {
  const ids = [...new Set(profileIds)];
  if (!ids.length) return new Map() as Revisions;
  const pipe = redis.pipeline();
  for (const id of ids) pipe.get(revisionKey(prefix, id));
  const answers = (await pipe.exec()) ?? [];
  const failed = answers.find(([err]) => err);
  if (failed) throw failed[0];
  return new Map(ids.map((id, i) => [id, (answers[i]![1] as string | null) ?? '0'])) as Revisions;
}

export interface MembershipChange {
  segmentId: string;
  profileId: string;
  member: boolean;
}

type MembershipRedis = Pick<Redis, 'pipeline'>;

/**
 * Writes the outcome of evaluating profiles against segments (one round trip), each only while its profile's
 * revision is still the one read before the evaluation (`revisions`); a newer change's evaluation writes its own.
 */
export async function applyMembership(
  redis: MembershipRedis,
  prefix: string,
  changes: MembershipChange[],
  revisions: Revisions,
) {
  if (!changes.length) return;
  const pipe = redis.pipeline();
  for (const c of changes) {
    pipe.eval(
      APPLY,
      4,
      membersKey(prefix, c.segmentId),
      refreshKey(prefix, c.segmentId),
      touchedKey(prefix, c.segmentId),
      revisionKey(prefix, c.profileId),
      c.profileId,
      c.member ? '1' : '0',
      revisions.get(c.profileId) ?? '0',
    );
  }
  const answers = (await pipe.exec()) ?? [];
  const failed = answers.find(([err]) => err);
  if (failed) throw failed[0];
}

export const countMembers = (redis: Pick<Redis, 'zcard'>, prefix: string, segmentId: string) =>
  redis.zcard(membersKey(prefix, segmentId));

/** Up to `limit` member ids after `cursor` (a profile id), in id order. */
export const memberIds = (
  redis: Pick<Redis, 'zrangebylex'>,
  prefix: string,
  segmentId: string,
  cursor: string | null,
  limit: number,
) => redis.zrangebylex(membersKey(prefix, segmentId), cursor ? `(${cursor}` : '-', '+', 'LIMIT', 0, limit);

/** Whether each profile id is a member now (one round trip). */
export async function areMembers(redis: Pick<Redis, 'zmscore'>, prefix: string, segmentId: string, ids: string[]) {
  if (!ids.length) return [];
  return (await redis.zmscore(membersKey(prefix, segmentId), ...ids)).map((score) => score !== null);
}

export async function dropMembers(redis: Pick<Redis, 'del'>, prefix: string, segmentId: string) {
  await redis.del(membersKey(prefix, segmentId), touchedKey(prefix, segmentId));
}

/** Segments' part of a site's deletion (wired into deleteSite by app.ts and cli.ts): its segments' member sets. */
export const dropSiteSegmentKeys: SiteKeyCleaner = async (redis, prefix, owned) => {
  const keys = owned.segmentIds.flatMap((id) => [
    membersKey(prefix, id),
    touchedKey(prefix, id),
    refreshKey(prefix, id),
  ]);
  let dropped = 0;
  for (let i = 0; i < keys.length; i += 500) dropped += await redis.unlink(...keys.slice(i, i + 500));
  return dropped;
};
