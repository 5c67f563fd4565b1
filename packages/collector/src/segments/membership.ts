import type { Redis } from 'ioredis';

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

const APPLY = `
if ARGV[2] == '1' then redis.call('zadd', KEYS[1], 0, ARGV[1]) else redis.call('zrem', KEYS[1], ARGV[1]) end
if redis.call('exists', KEYS[2]) == 1 then redis.call('sadd', KEYS[3], ARGV[1]) end
return 0`;

export interface MembershipChange {
  segmentId: string;
  profileId: string;
  member: boolean;
}

type MembershipRedis = Pick<Redis, 'pipeline'>;

/** Writes the outcome of evaluating profiles against segments (one round trip). */
export async function applyMembership(redis: MembershipRedis, prefix: string, changes: MembershipChange[]) {
  if (!changes.length) return;
  const pipe = redis.pipeline();
  for (const c of changes) {
    pipe.eval(
      APPLY,
      3,
      membersKey(prefix, c.segmentId),
      refreshKey(prefix, c.segmentId),
      touchedKey(prefix, c.segmentId),
      c.profileId,
      c.member ? '1' : '0',
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

export const isMember = async (redis: Pick<Redis, 'zscore'>, prefix: string, segmentId: string, profileId: string) =>
  (await redis.zscore(membersKey(prefix, segmentId), profileId)) !== null;

export async function dropMembers(redis: Pick<Redis, 'del'>, prefix: string, segmentId: string) {
  await redis.del(membersKey(prefix, segmentId), touchedKey(prefix, segmentId));
}
