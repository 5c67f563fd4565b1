import type { ChainableCommander, Redis } from 'ioredis';

/** How long the last-e-mailed time of a person is kept: the longest frequency cap. */
export const MAX_CAP_HOURS = 168;
const key = (prefix: string, profileId: string) => `${prefix}:emailed:${profileId}`;

/** Notes that a person was just e-mailed (a broadcast or a flow), for frequency caps. */
export async function noteEmailed(redis: Pick<Redis, 'set'>, prefix: string, profileId: string, at = Date.now()) {
  await redis.set(key(prefix, profileId), String(at), 'PX', MAX_CAP_HOURS * 3_600_000);
}

/** The same, as a command of a pipeline. */
export function noteEmailedIn(pipe: ChainableCommander, prefix: string, profileId: string, at = Date.now()) {
  pipe.set(key(prefix, profileId), String(at), 'PX', MAX_CAP_HOURS * 3_600_000);
}

/** Whether each person was e-mailed in the last `hours` (one round trip). */
export async function emailedWithin(redis: Pick<Redis, 'mget'>, prefix: string, profileIds: string[], hours: number) {
  if (!profileIds.length) return [];
  const times = await redis.mget(profileIds.map((id) => key(prefix, id)));
  return times.map((t) => {
    const at = Number(t);
    return at > 0 && Date.now() - at < hours * 3_600_000;
  });
}
